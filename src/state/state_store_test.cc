// The StateStore contract, run against every backend compiled into this binary:
// state_test runs it on SQLite, state_pg_test on PostgreSQL (ctest fixture `postgres`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/fs.h"
#include "state/sql_state_store.h"
#include "state/store_test_env.h"

namespace hlsforge::state {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kLease = 60'000;

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto db = testing::TestDb::Create(GetParam());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto s = db_->Open();
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // Records a new object and returns its job id.
  int64_t Record(const std::string& name, const std::string& etag = "e1", int64_t size = 100) {
    auto r = store_->RecordObject(name, name, etag, size);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !*r) {
      ADD_FAILURE() << "RecordObject(" << name << ", " << etag << ") created no job";
      return 0;
    }
    return **r;
  }

  Job MustGetJob(int64_t id) {
    auto j = store_->GetJob(id);
    EXPECT_TRUE(j.ok()) << j.status();
    if (!j.ok() || !*j) {
      ADD_FAILURE() << "job " << id << " not found";
      return Job{};
    }
    return **j;
  }

  Video MustGetVideo(int64_t id) {
    auto v = store_->GetVideo(id);
    EXPECT_TRUE(v.ok()) << v.status();
    if (!v.ok() || !*v) {
      ADD_FAILURE() << "video " << id << " not found";
      return Video{};
    }
    return **v;
  }

  // Claims the next job for `worker` (taking unassigned jobs too); fails the test if none.
  Job Claim(const std::string& worker = "w1", int64_t now = 0) {
    if (now == 0) now = NowMs();
    auto c = store_->ClaimJob(worker, now, kLease, true);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok() || !*c) {
      ADD_FAILURE() << "nothing to claim";
      return Job{};
    }
    return **c;
  }

  std::unique_ptr<testing::TestDb> db_;
  std::unique_ptr<StateStore> store_;
};

// ---- schema ----

TEST_P(StoreTest, MigrateIsIdempotent) {
  ASSERT_TRUE(store_->Migrate().ok());
  ASSERT_TRUE(store_->Migrate().ok());
  auto* sql = dynamic_cast<SqlStateStore*>(store_.get());
  ASSERT_NE(sql, nullptr);
  auto v = sql->SchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 1);
  // Data survives a re-migration by another store on the same database.
  Record("a.mp4");
  auto again = db_->Open();
  ASSERT_TRUE(again.ok()) << again.status();
  auto n = (*again)->CountVideos({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
}

TEST_P(StoreTest, ConcurrentOpenAndMigrate) {
  // Several processes (here: stores with their own connections) starting at once.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto s = db_->Open();
      if (s.ok() && (*s)->Migrate().ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
}

// ---- watcher ----

TEST_P(StoreTest, RecordObjectCreatesVideoAndQueuedJob) {
  const int64_t before = NowMs();
  auto r = store_->RecordObject("dir/clip one.mov", "dir_clip_one.mov", "\"abc\"", 1234);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  const Job j = MustGetJob(**r);
  EXPECT_EQ(j.state, JobState::kQueued);
  EXPECT_EQ(j.video_name, "dir/clip one.mov");
  EXPECT_EQ(j.slug, "dir_clip_one.mov");
  EXPECT_EQ(j.etag, "\"abc\"");
  EXPECT_EQ(j.size_bytes, 1234);
  EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(j.max_attempts, 3);
  EXPECT_EQ(j.lease_token, 0);
  EXPECT_GE(j.created_ms, before);
  const Video v = MustGetVideo(j.video_id);
  EXPECT_EQ(v.name, "dir/clip one.mov");
  EXPECT_EQ(v.slug, "dir_clip_one.mov");
  EXPECT_EQ(v.etag, "\"abc\"");
  EXPECT_EQ(v.size_bytes, 1234);
  EXPECT_EQ(v.state, JobState::kQueued);
  EXPECT_EQ(v.latest_job_id, j.id);
  EXPECT_EQ(v.published_job_id, 0);
  EXPECT_GE(v.created_ms, before);
}

TEST_P(StoreTest, RecordObjectDedupsSameVersion) {
  const int64_t id = Record("a.mp4", "e1");
  auto again = store_->RecordObject("a.mp4", "a.mp4", "e1", 100);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_value());
  auto jobs = store_->ListJobs({});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].id, id);
}

TEST_P(StoreTest, RecordObjectDedupSurvivesReopen) {
  Record("a.mp4", "e1");
  store_.reset();
  auto reopened = db_->Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto again = (*reopened)->RecordObject("a.mp4", "a.mp4", "e1", 100);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->has_value());
  auto n = (*reopened)->ListJobs({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->size(), 1u);
}

TEST_P(StoreTest, NewVersionSupersedesOlderJobs) {
  const int64_t j1 = Record("a.mp4", "e1");
  const Job running = Claim("w1");
  ASSERT_EQ(running.id, j1);
  const int64_t j2 = Record("a.mp4", "e2", 200);  // v2: j1 is running -> cancel requested
  const int64_t j3 = Record("a.mp4", "e3", 300);  // v3: j2 is queued -> cancelled at once
  EXPECT_NE(j1, j2);
  const Job old1 = MustGetJob(j1);
  EXPECT_EQ(old1.state, JobState::kDownloading);
  EXPECT_TRUE(old1.cancel_requested);
  const Job old2 = MustGetJob(j2);
  EXPECT_EQ(old2.state, JobState::kCancelled);
  EXPECT_THAT(old2.error, HasSubstr("superseded"));
  EXPECT_GT(old2.finished_ms, 0);
  const Job cur = MustGetJob(j3);
  EXPECT_EQ(cur.state, JobState::kQueued);
  EXPECT_EQ(cur.etag, "e3");
  EXPECT_EQ(cur.video_id, old1.video_id);  // same video row
  const Video v = MustGetVideo(cur.video_id);
  EXPECT_EQ(v.etag, "e3");
  EXPECT_EQ(v.size_bytes, 300);
  EXPECT_EQ(v.latest_job_id, j3);
  EXPECT_EQ(v.state, JobState::kQueued);
  auto n = store_->CountVideos({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  // The old worker notices at its next write and stops.
  EXPECT_EQ(store_->UpdateProgress(j1, old1.lease_token, JobState::kEncoding, 10).code(),
            Code::kAborted);
  EXPECT_EQ(store_->RenewLease(j1, old1.lease_token, NowMs() + kLease).code(), Code::kAborted);
  ASSERT_TRUE(store_->MarkCancelled(j1, old1.lease_token).ok());
  EXPECT_EQ(MustGetJob(j1).state, JobState::kCancelled);
  EXPECT_EQ(MustGetVideo(cur.video_id).state, JobState::kQueued);  // still mirrors j3
  // Going back to an already seen version is not a new version.
  auto back = store_->RecordObject("a.mp4", "a.mp4", "e1", 100);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->has_value());
}

TEST_P(StoreTest, SlugConflictGetsSuffix) {
  auto a = store_->RecordObject("a b.mp4", "a_b.mp4", "e", 1);
  auto b = store_->RecordObject("a_b.mp4", "a_b.mp4", "e", 1);
  auto c = store_->RecordObject("a?b.mp4", "a_b.mp4", "e", 1);
  auto d = store_->RecordObject("noext", "noext", "e", 1);
  auto e = store_->RecordObject("noext ", "noext", "e", 1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok() && e.ok());
  EXPECT_EQ(MustGetJob(**a).slug, "a_b.mp4");
  EXPECT_EQ(MustGetJob(**b).slug, "a_b-2.mp4");
  EXPECT_EQ(MustGetJob(**c).slug, "a_b-3.mp4");
  EXPECT_EQ(MustGetJob(**e).slug, "noext-2");
  auto v = store_->GetVideoBySlug("a_b-2.mp4");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ((*v)->name, "a_b.mp4");
  // A new version of a suffixed video keeps its slug.
  auto b2 = store_->RecordObject("a_b.mp4", "a_b.mp4", "e2", 1);
  ASSERT_TRUE(b2.ok() && b2->has_value());
  EXPECT_EQ(MustGetJob(**b2).slug, "a_b-2.mp4");
  auto missing = store_->GetVideoBySlug("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  // By name: the suffixed video is found under its own name, not the other one's.
  auto by_name = store_->GetVideoByName("a_b.mp4");
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  EXPECT_EQ((*by_name)->slug, "a_b-2.mp4");
  for (const std::string& bad : {std::string(""), std::string("nope"), std::string("\xFF"),
                                 std::string(5000, 'x'), std::string("a b.mp4' OR '1'='1")}) {
    auto none = store_->GetVideoByName(bad);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_FALSE(none->has_value()) << bad.substr(0, 20);
  }
}

TEST_P(StoreTest, HostileNamesRoundTrip) {
  const std::vector<std::string> names = {
      "x'); DROP TABLE videos;--", "Robert\"; DELETE FROM jobs; --",
      "100% _real_ \\ video.mp4",  "vid\xC3\xA9o \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\xAC.mov",
      "line\nbreak\ttab.mp4",      "?placeholder? $1 $2.mp4",
      std::string(1024, 'n'),
  };
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string etag = "\"" + names[i].substr(0, 20) + "'\"";
    auto r = store_->RecordObject(names[i], "slug" + std::to_string(i), etag, 7);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->has_value());
    const Job j = MustGetJob(**r);
    EXPECT_EQ(j.video_name, names[i]);
    EXPECT_EQ(j.etag, etag);
    EXPECT_EQ(MustGetVideo(j.video_id).name, names[i]);
    auto dup = store_->RecordObject(names[i], "slug" + std::to_string(i), etag, 7);
    ASSERT_TRUE(dup.ok());
    EXPECT_FALSE(dup->has_value());
  }
  auto n = store_->CountVideos({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, static_cast<int64_t>(names.size()));
  // Filtering with the hostile text finds exactly that video.
  VideoQuery q;
  q.name_contains = "DROP TABLE";
  auto found = store_->ListVideos(q);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].name, names[0]);
}

TEST_P(StoreTest, RejectsBadIdentifiers) {
  struct Case {
    std::string name, slug, etag;
    int64_t size;
  };
  const std::vector<Case> cases = {
      {"", "s", "e", 1},
      {std::string("nul\0byte", 8), "s", "e", 1},
      {"bad\xFF\xFEutf8", "s", "e", 1},
      {"overlong\xC0\xAF", "s", "e", 1},
      {std::string(1025, 'x'), "s", "e", 1},
      {std::string(1 << 20, 'x'), "s", "e", 1},
      {"n", "", "e", 1},
      {"n", "a/b", "e", 1},
      {"n", "..", "e", 1},
      {"n", ".", "e", 1},
      {"n", "a\\b", "e", 1},
      {"n", "s", "", 1},
      {"n", "s", std::string(257, 'e'), 1},
      {"n", "s", "e", -1},
  };
  for (const auto& c : cases) {
    auto r = store_->RecordObject(c.name, c.slug, c.etag, c.size);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
        << "name=" << c.name.substr(0, 40) << " slug=" << c.slug
        << " etag=" << c.etag.substr(0, 20);
  }
  auto n = store_->CountVideos({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(store_->AssignJob(1, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->ClaimJob("", NowMs(), kLease, true).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->ClaimJob("w", NowMs(), 0, true).status().code(), Code::kInvalidArgument);
  WorkerInfo w;
  w.id = "bad\xFF";
  EXPECT_EQ(store_->Heartbeat(w).code(), Code::kInvalidArgument);
  // Still healthy.
  Record("ok.mp4");
}

TEST_P(StoreTest, FreeTextIsSanitizedNotRejected) {
  const int64_t id = Record("a.mp4");
  const Job j = Claim();
  ASSERT_EQ(j.id, id);
  std::string error = "ffmpeg said: \xFF\xFE bad bytes ";
  error += std::string("nul\0inside ", 11);
  error += std::string(1 << 20, 'x');
  ASSERT_TRUE(store_->FailJob(id, j.lease_token, error, false, 0).ok());
  const Job f = MustGetJob(id);
  EXPECT_EQ(f.state, JobState::kFailed);
  EXPECT_LE(f.error.size(), kMaxErrorBytes);
  EXPECT_THAT(f.error, HasSubstr("ffmpeg said: \xEF\xBF\xBD\xEF\xBF\xBD bad bytes nulinside"));
  EXPECT_THAT(f.error, HasSubstr("(truncated)"));
  EXPECT_EQ(MustGetVideo(f.video_id).error, f.error);
}

TEST_P(StoreTest, MarkSourceDeleted) {
  Record("a.mp4");
  Record("b.mp4");
  auto n =
      store_->MarkSourceDeleted({"a.mp4", "missing.mp4", "bad\xFF", "x'); DROP TABLE videos;--"});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  auto again = store_->MarkSourceDeleted({"a.mp4"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  auto none = store_->MarkSourceDeleted({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto vids = store_->ListVideos({});
  ASSERT_TRUE(vids.ok());
  for (const auto& v : *vids) {
    if (v.name == "a.mp4") {
      EXPECT_GT(v.deleted_ms, 0);
    } else {
      EXPECT_EQ(v.deleted_ms, 0);
    }
  }
  // Re-uploaded with new content: present again.
  const int64_t j = Record("a.mp4", "e2");
  EXPECT_EQ(MustGetVideo(MustGetJob(j).video_id).deleted_ms, 0);
  // Many names at once (chunked below the parameter limits).
  std::vector<std::string> many;
  for (int i = 0; i < 1500; ++i) many.push_back("n" + std::to_string(i));
  many.push_back("b.mp4");
  auto lots = store_->MarkSourceDeleted(many);
  ASSERT_TRUE(lots.ok()) << lots.status();
  EXPECT_EQ(*lots, 1);
}

// ---- scheduler ----

TEST_P(StoreTest, RunnableJobsRespectsNotBeforeAndOrder) {
  const int64_t a = Record("a.mp4");
  const int64_t b = Record("b.mp4");
  const int64_t c = Record("c.mp4");
  // b fails transiently and waits until t+10 s.
  ASSERT_TRUE(store_->AssignJob(b, "w1").ok());
  auto claimed = store_->ClaimJob("w1", NowMs(), kLease, false);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  ASSERT_EQ((*claimed)->id, b);
  const int64_t now = NowMs();
  ASSERT_TRUE(store_->FailJob(b, (*claimed)->lease_token, "transient", true, now + 10'000).ok());
  auto r = store_->RunnableJobs(now, 10);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, a);
  EXPECT_EQ((*r)[1].id, c);
  auto later = store_->RunnableJobs(now + 10'000, 10);
  ASSERT_TRUE(later.ok());
  ASSERT_EQ(later->size(), 3u);
  auto limited = store_->RunnableJobs(now + 10'000, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].id, a);
  auto zero = store_->RunnableJobs(now, 0);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
  // ClaimJob respects not_before too.
  Claim("w2", now);  // a
  Claim("w2", now);  // c
  auto none = store_->ClaimJob("w2", now, kLease, true);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto bb = store_->ClaimJob("w2", now + 10'000, kLease, true);
  ASSERT_TRUE(bb.ok() && bb->has_value());
  EXPECT_EQ((*bb)->id, b);
  EXPECT_EQ((*bb)->attempts, 2);
}

TEST_P(StoreTest, AssignJobOnlyFromQueued) {
  const int64_t id = Record("a.mp4");
  ASSERT_TRUE(store_->AssignJob(id, "w1").ok());
  const Job j = MustGetJob(id);
  EXPECT_EQ(j.state, JobState::kAssigned);
  EXPECT_EQ(j.worker_id, "w1");
  EXPECT_EQ(MustGetVideo(j.video_id).state, JobState::kAssigned);
  EXPECT_EQ(store_->AssignJob(id, "w2").code(), Code::kFailedPrecondition);
  EXPECT_EQ(MustGetJob(id).worker_id, "w1");
  EXPECT_EQ(store_->AssignJob(999999, "w1").code(), Code::kNotFound);
  // Assigned jobs are not runnable by others.
  auto r = store_->RunnableJobs(NowMs(), 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  auto other = store_->ClaimJob("w2", NowMs(), kLease, true);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_P(StoreTest, ClaimPrefersJobAssignedToThisWorker) {
  const int64_t older = Record("a.mp4");
  const int64_t mine = Record("b.mp4");
  ASSERT_TRUE(store_->AssignJob(mine, "w1").ok());
  const Job first = Claim("w1");
  EXPECT_EQ(first.id, mine);
  EXPECT_EQ(first.state, JobState::kDownloading);
  EXPECT_EQ(first.worker_id, "w1");
  EXPECT_EQ(first.attempts, 1);
  EXPECT_EQ(first.lease_token, 1);
  EXPECT_GT(first.lease_deadline_ms, NowMs() + kLease / 2);
  EXPECT_GT(first.started_ms, 0);
  EXPECT_EQ(MustGetVideo(first.video_id).state, JobState::kDownloading);
  // Without take_unassigned, nothing else.
  auto none = store_->ClaimJob("w1", NowMs(), kLease, false);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const Job second = Claim("w1");
  EXPECT_EQ(second.id, older);
  auto empty = store_->ClaimJob("w1", NowMs(), kLease, true);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
}

TEST_P(StoreTest, LeaseTokenGrowsOnEveryClaim) {
  const int64_t id = Record("a.mp4");
  const Job c1 = Claim("w1");
  ASSERT_TRUE(store_->ReleaseJob(id, c1.lease_token).ok());
  const Job released = MustGetJob(id);
  EXPECT_EQ(released.state, JobState::kQueued);
  EXPECT_EQ(released.worker_id, "");
  EXPECT_EQ(released.attempts, 1);  // unchanged by the release
  const Job c2 = Claim("w2");
  EXPECT_EQ(c2.id, id);
  EXPECT_GT(c2.lease_token, c1.lease_token);
  EXPECT_EQ(c2.attempts, 2);
  // The first worker's token is dead for every write.
  EXPECT_EQ(store_->ReleaseJob(id, c1.lease_token).code(), Code::kAborted);
}

TEST_P(StoreTest, StaleTokenChangesNothing) {
  const int64_t id = Record("a.mp4");
  const Job old = Claim("w1", NowMs());
  // The lease runs out; another worker takes the job.
  auto n = store_->RequeueExpired(NowMs() + kLease + 1, 0);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  // Between requeue and re-claim the old token must already be dead.
  EXPECT_EQ(store_->UpdateProgress(id, old.lease_token, JobState::kEncoding, 5).code(),
            Code::kAborted);
  const Job cur = Claim("w2");
  ASSERT_EQ(cur.id, id);
  ASSERT_TRUE(store_->UpdateProgress(id, cur.lease_token, JobState::kEncoding, 42).ok());
  const Job before = MustGetJob(id);
  const Video vbefore = MustGetVideo(before.video_id);
  const int64_t t = old.lease_token;
  Status s = store_->RenewLease(id, t, NowMs() + 999'999);
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_THAT(s.message(), HasSubstr("stale"));
  EXPECT_EQ(store_->UpdateProgress(id, t, JobState::kUploading, 99).code(), Code::kAborted);
  EXPECT_EQ(store_->FinishJob(id, t, Published{"{}", "[]", "{}", "{}"}).code(), Code::kAborted);
  EXPECT_EQ(store_->FailJob(id, t, "late", false, 0).code(), Code::kAborted);
  EXPECT_EQ(store_->ReleaseJob(id, t).code(), Code::kAborted);
  EXPECT_EQ(store_->MarkCancelled(id, t).code(), Code::kAborted);
  EXPECT_EQ(store_->RenewLease(id, t + 100, NowMs()).code(), Code::kAborted);  // future token
  EXPECT_EQ(store_->RenewLease(424242, 1, NowMs()).code(), Code::kAborted);    // no such job
  const Job after = MustGetJob(id);
  EXPECT_EQ(after.state, before.state);
  EXPECT_EQ(after.progress, before.progress);
  EXPECT_EQ(after.lease_deadline_ms, before.lease_deadline_ms);
  EXPECT_EQ(after.worker_id, "w2");
  EXPECT_EQ(after.error, before.error);
  const Video vafter = MustGetVideo(after.video_id);
  EXPECT_EQ(vafter.state, vbefore.state);
  EXPECT_EQ(vafter.progress, vbefore.progress);
  EXPECT_EQ(vafter.published_job_id, 0);
}

TEST_P(StoreTest, ProgressMirrorsVideo) {
  const int64_t id = Record("a.mp4");
  const Job j = Claim();
  ASSERT_TRUE(store_->UpdateProgress(id, j.lease_token, JobState::kEncoding, 37.5).ok());
  Job cur = MustGetJob(id);
  EXPECT_EQ(cur.state, JobState::kEncoding);
  EXPECT_DOUBLE_EQ(cur.progress, 37.5);
  Video v = MustGetVideo(j.video_id);
  EXPECT_EQ(v.state, JobState::kEncoding);
  EXPECT_DOUBLE_EQ(v.progress, 37.5);
  ASSERT_TRUE(store_->UpdateProgress(id, j.lease_token, JobState::kUploading, 250).ok());
  EXPECT_DOUBLE_EQ(MustGetJob(id).progress, 100);  // clamped
  EXPECT_EQ(store_->UpdateProgress(id, j.lease_token, JobState::kReady, 1).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store_->UpdateProgress(id, j.lease_token, JobState::kEncoding, std::nan("")).code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(store_->RenewLease(id, j.lease_token, NowMs() + 5 * kLease).ok());
  EXPECT_GT(MustGetJob(id).lease_deadline_ms, NowMs() + 4 * kLease);
}

TEST_P(StoreTest, FailJobRetriesThenFails) {
  const int64_t id = Record("a.mp4");
  int64_t now = NowMs();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto c = store_->ClaimJob("w1", now, kLease, true);
    ASSERT_TRUE(c.ok() && c->has_value()) << "attempt " << attempt;
    EXPECT_EQ((*c)->attempts, attempt);
    ASSERT_TRUE(store_->FailJob(id, (*c)->lease_token, "network down", true, now + 1000).ok());
    const Job j = MustGetJob(id);
    if (attempt < 3) {
      EXPECT_EQ(j.state, JobState::kQueued) << attempt;
      EXPECT_EQ(j.not_before_ms, now + 1000);
      EXPECT_EQ(j.worker_id, "");
      EXPECT_EQ(j.error, "network down");
      EXPECT_EQ(MustGetVideo(j.video_id).state, JobState::kQueued);
    } else {
      // Attempts used up: failed even though a retry time was given.
      EXPECT_EQ(j.state, JobState::kFailed);
      EXPECT_GT(j.finished_ms, 0);
      const Video v = MustGetVideo(j.video_id);
      EXPECT_EQ(v.state, JobState::kFailed);
      EXPECT_EQ(v.error, "network down");
      EXPECT_TRUE(v.retryable);
    }
    now += 1000;
  }
}

TEST_P(StoreTest, FailJobWithoutRetryFailsAtOnce) {
  const int64_t id = Record("garbage.bin");
  const Job j = Claim();
  ASSERT_TRUE(store_->FailJob(id, j.lease_token, "not a video: no streams", false, 0).ok());
  const Job f = MustGetJob(id);
  EXPECT_EQ(f.state, JobState::kFailed);
  EXPECT_FALSE(f.retryable);
  const Video v = MustGetVideo(f.video_id);
  EXPECT_EQ(v.state, JobState::kFailed);
  EXPECT_EQ(v.error, "not a video: no streams");
  EXPECT_FALSE(v.retryable);
  auto runnable = store_->RunnableJobs(NowMs() + 1'000'000, 10);
  ASSERT_TRUE(runnable.ok());
  EXPECT_TRUE(runnable->empty());
}

TEST_P(StoreTest, FinishJobPublishes) {
  const int64_t id = Record("a.mp4");
  const Job j = Claim();
  ASSERT_TRUE(store_->UpdateProgress(id, j.lease_token, JobState::kUploading, 90).ok());
  const Published p{R"({"width":320})", R"([{"i":0}])", R"({"uri":"a.mp4/0/index.m3u8"})",
                    R"({"encode_s":1.5})"};
  ASSERT_TRUE(store_->FinishJob(id, j.lease_token, p).ok());
  const Job f = MustGetJob(id);
  EXPECT_EQ(f.state, JobState::kReady);
  EXPECT_DOUBLE_EQ(f.progress, 100);
  EXPECT_EQ(f.timings_json, p.timings_json);
  EXPECT_GT(f.finished_ms, 0);
  const Video v = MustGetVideo(f.video_id);
  EXPECT_EQ(v.state, JobState::kReady);
  EXPECT_EQ(v.published_job_id, id);
  EXPECT_EQ(v.source_json, p.source_json);
  EXPECT_EQ(v.renditions_json, p.renditions_json);
  EXPECT_EQ(v.catalog_json, p.catalog_json);
  EXPECT_GT(v.ready_ms, 0);
  auto pub = store_->PublishedVideos();
  ASSERT_TRUE(pub.ok());
  ASSERT_EQ(pub->size(), 1u);
  EXPECT_EQ((*pub)[0].id, v.id);
  // Finished: the token no longer works.
  EXPECT_EQ(store_->FinishJob(id, j.lease_token, p).code(), Code::kAborted);
  EXPECT_EQ(store_->RenewLease(id, j.lease_token, NowMs()).code(), Code::kAborted);
}

TEST_P(StoreTest, OlderVersionFinishingLateDoesNotMovePublished) {
  const int64_t j1 = Record("a.mp4", "v1");
  const Job c1 = Claim("w1");
  const int64_t j2 = Record("a.mp4", "v2");  // j1 gets cancel_requested
  const Job c2 = Claim("w2");
  ASSERT_EQ(c2.id, j2);
  // v1's worker did not notice and finishes first: recorded, not published.
  ASSERT_TRUE(store_->FinishJob(j1, c1.lease_token, Published{"{}", "[\"v1\"]", "{}", ""}).ok());
  EXPECT_EQ(MustGetJob(j1).state, JobState::kReady);
  Video v = MustGetVideo(c1.video_id);
  EXPECT_EQ(v.published_job_id, 0);
  EXPECT_EQ(v.state, JobState::kDownloading);  // mirrors j2
  EXPECT_EQ(v.latest_job_id, j2);
  auto pub = store_->PublishedVideos();
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->empty());
  ASSERT_TRUE(store_->FinishJob(j2, c2.lease_token, Published{"{}", "[\"v2\"]", "{}", ""}).ok());
  v = MustGetVideo(c1.video_id);
  EXPECT_EQ(v.published_job_id, j2);
  EXPECT_EQ(v.renditions_json, "[\"v2\"]");
  EXPECT_EQ(v.state, JobState::kReady);

  // And the other order: v3 published, then a v4 that is superseded by v5 finishes late.
  const int64_t j4 = Record("a.mp4", "v4");
  const Job c4 = Claim("w1");
  ASSERT_EQ(c4.id, j4);
  const int64_t j5 = Record("a.mp4", "v5");
  ASSERT_TRUE(store_->FinishJob(j4, c4.lease_token, Published{"{}", "[\"v4\"]", "{}", ""}).ok());
  v = MustGetVideo(c1.video_id);
  EXPECT_EQ(v.published_job_id, j2);  // still v2 until v5 is done
  EXPECT_EQ(v.renditions_json, "[\"v2\"]");
  EXPECT_EQ(v.latest_job_id, j5);
  EXPECT_EQ(v.state, JobState::kQueued);
}

TEST_P(StoreTest, RequeueExpired) {
  const int64_t now = NowMs();
  const int64_t running = Record("running.mp4");
  const int64_t fresh = Record("fresh.mp4");
  const int64_t dead_assigned = Record("dead.mp4");
  const int64_t live_assigned = Record("live.mp4");
  ASSERT_EQ(Claim("w1", now).id, running);         // lease until now + kLease
  ASSERT_EQ(Claim("w1", now + kLease).id, fresh);  // lease until now + 2*kLease
  WorkerInfo live;
  live.id = "live-worker";
  live.last_heartbeat_ms = now;
  ASSERT_TRUE(store_->Heartbeat(live).ok());
  WorkerInfo dead;
  dead.id = "dead-worker";
  dead.last_heartbeat_ms = now - 60'000;
  ASSERT_TRUE(store_->Heartbeat(dead).ok());
  ASSERT_TRUE(store_->AssignJob(dead_assigned, "dead-worker").ok());
  ASSERT_TRUE(store_->AssignJob(live_assigned, "live-worker").ok());

  auto n = store_->RequeueExpired(now + kLease + 1, now - 30'000);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  Job r = MustGetJob(running);
  EXPECT_EQ(r.state, JobState::kQueued);
  EXPECT_EQ(r.worker_id, "");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_THAT(r.error, HasSubstr("lease expired"));
  EXPECT_EQ(MustGetVideo(r.video_id).state, JobState::kQueued);
  EXPECT_EQ(MustGetJob(fresh).state, JobState::kDownloading);
  EXPECT_EQ(MustGetJob(dead_assigned).state, JobState::kQueued);
  EXPECT_EQ(MustGetJob(dead_assigned).worker_id, "");
  EXPECT_EQ(MustGetJob(live_assigned).state, JobState::kAssigned);
  // Nothing more to do now.
  auto again = store_->RequeueExpired(now + kLease + 1, now - 30'000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

TEST_P(StoreTest, RequeueExpiredFailsWhenAttemptsUsedUp) {
  const int64_t id = Record("a.mp4");
  int64_t now = NowMs();
  for (int i = 0; i < 3; ++i) {
    auto c = store_->ClaimJob("w" + std::to_string(i), now, kLease, true);
    ASSERT_TRUE(c.ok() && c->has_value()) << i;
    now += kLease + 1;
    auto n = store_->RequeueExpired(now, 0);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1);
  }
  const Job j = MustGetJob(id);
  EXPECT_EQ(j.state, JobState::kFailed);
  EXPECT_THAT(j.error, HasSubstr("lease expired 3 times"));
  EXPECT_TRUE(j.retryable);
  const Video v = MustGetVideo(j.video_id);
  EXPECT_EQ(v.state, JobState::kFailed);
  EXPECT_THAT(v.error, HasSubstr("lease expired 3 times"));
}

TEST_P(StoreTest, ReleaseJob) {
  const int64_t id = Record("a.mp4");
  const Job j = Claim();
  ASSERT_TRUE(store_->UpdateProgress(id, j.lease_token, JobState::kEncoding, 50).ok());
  ASSERT_TRUE(store_->ReleaseJob(id, j.lease_token).ok());
  const Job r = MustGetJob(id);
  EXPECT_EQ(r.state, JobState::kQueued);
  EXPECT_EQ(r.worker_id, "");
  EXPECT_EQ(r.progress, 0);
  EXPECT_EQ(r.not_before_ms, 0);
  EXPECT_EQ(MustGetVideo(r.video_id).state, JobState::kQueued);
  // Released while a cancel was pending: it ends cancelled, not queued.
  const Job again = Claim();
  ASSERT_TRUE(store_->CancelVideo(again.video_id).ok());
  ASSERT_TRUE(store_->ReleaseJob(id, again.lease_token).ok());
  EXPECT_EQ(MustGetJob(id).state, JobState::kCancelled);
  EXPECT_EQ(MustGetVideo(again.video_id).state, JobState::kCancelled);
}

// ---- operator actions ----

TEST_P(StoreTest, CancelVideo) {
  const int64_t queued = Record("q.mp4");
  const int64_t vq = MustGetJob(queued).video_id;
  ASSERT_TRUE(store_->CancelVideo(vq).ok());
  EXPECT_EQ(MustGetJob(queued).state, JobState::kCancelled);
  EXPECT_EQ(MustGetVideo(vq).state, JobState::kCancelled);
  EXPECT_EQ(store_->CancelVideo(vq).code(), Code::kFailedPrecondition);

  const int64_t assigned = Record("a.mp4");
  ASSERT_TRUE(store_->AssignJob(assigned, "w1").ok());
  ASSERT_TRUE(store_->CancelVideo(MustGetJob(assigned).video_id).ok());
  EXPECT_EQ(MustGetJob(assigned).state, JobState::kCancelled);

  const int64_t running = Record("r.mp4");
  const Job j = Claim();
  ASSERT_EQ(j.id, running);
  ASSERT_TRUE(store_->CancelVideo(j.video_id).ok());
  Job cur = MustGetJob(running);
  EXPECT_EQ(cur.state, JobState::kDownloading);
  EXPECT_TRUE(cur.cancel_requested);
  Status renew = store_->RenewLease(running, j.lease_token, NowMs() + kLease);
  EXPECT_EQ(renew.code(), Code::kAborted);
  EXPECT_THAT(renew.message(), HasSubstr("cancel"));
  EXPECT_EQ(store_->UpdateProgress(running, j.lease_token, JobState::kEncoding, 1).code(),
            Code::kAborted);
  ASSERT_TRUE(store_->MarkCancelled(running, j.lease_token).ok());
  cur = MustGetJob(running);
  EXPECT_EQ(cur.state, JobState::kCancelled);
  EXPECT_THAT(cur.error, HasSubstr("cancel"));
  EXPECT_EQ(MustGetVideo(j.video_id).state, JobState::kCancelled);

  const int64_t done = Record("d.mp4");
  const Job d = Claim();
  ASSERT_EQ(d.id, done);
  ASSERT_TRUE(store_->FinishJob(done, d.lease_token, Published{}).ok());
  EXPECT_EQ(store_->CancelVideo(d.video_id).code(), Code::kFailedPrecondition);
  EXPECT_EQ(store_->CancelVideo(987654).code(), Code::kNotFound);
}

TEST_P(StoreTest, RetryVideo) {
  const int64_t id = Record("a.mp4", "e1", 55);
  const Job j = Claim();
  EXPECT_EQ(store_->RetryVideo(j.video_id).status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store_->FailJob(id, j.lease_token, "broken", false, 0).ok());
  auto r = store_->RetryVideo(j.video_id);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(*r, id);
  const Job nj = MustGetJob(*r);
  EXPECT_EQ(nj.state, JobState::kQueued);
  EXPECT_EQ(nj.etag, "e1");
  EXPECT_EQ(nj.size_bytes, 55);
  EXPECT_EQ(nj.attempts, 0);
  const Video v = MustGetVideo(j.video_id);
  EXPECT_EQ(v.state, JobState::kQueued);
  EXPECT_EQ(v.latest_job_id, *r);
  EXPECT_EQ(v.error, "");
  // Queued again: not retryable until it ends badly.
  EXPECT_EQ(store_->RetryVideo(j.video_id).status().code(), Code::kFailedPrecondition);
  ASSERT_TRUE(store_->CancelVideo(j.video_id).ok());
  auto r2 = store_->RetryVideo(j.video_id);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(store_->RetryVideo(123456).status().code(), Code::kNotFound);
  // A source that is gone cannot be retried.
  ASSERT_TRUE(store_->CancelVideo(j.video_id).ok());
  ASSERT_TRUE(store_->MarkSourceDeleted({"a.mp4"}).ok());
  EXPECT_EQ(store_->RetryVideo(j.video_id).status().code(), Code::kFailedPrecondition);
}

TEST_P(StoreTest, DeleteVideo) {
  const int64_t id = Record("a.mp4", "e1");
  const Job j = Claim();
  ASSERT_TRUE(store_->FinishJob(id, j.lease_token, Published{}).ok());
  const int64_t other = Record("b.mp4");
  const Job running = Claim();
  ASSERT_EQ(running.id, other);
  auto pub = store_->PublishedVideos();
  ASSERT_TRUE(pub.ok());
  ASSERT_EQ(pub->size(), 1u);

  ASSERT_TRUE(store_->DeleteVideo(j.video_id).ok());
  auto gone = store_->GetVideo(j.video_id);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  pub = store_->PublishedVideos();
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->empty());
  EXPECT_EQ(store_->DeleteVideo(j.video_id).code(), Code::kNotFound);
  // Still seen: the watcher does not import it again.
  auto again = store_->RecordObject("a.mp4", "a.mp4", "e1", 100);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  // A new version is a new video (new id).
  const int64_t fresh = Record("a.mp4", "e2");
  EXPECT_NE(MustGetJob(fresh).video_id, j.video_id);

  // Deleting a video whose job is running: the worker is stopped at its next write.
  ASSERT_TRUE(store_->DeleteVideo(running.video_id).ok());
  Status s = store_->UpdateProgress(other, running.lease_token, JobState::kEncoding, 3);
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_THAT(s.message(), HasSubstr("no longer exists"));
  EXPECT_EQ(store_->FinishJob(other, running.lease_token, Published{}).code(), Code::kAborted);
}

// ---- workers ----

TEST_P(StoreTest, HeartbeatUpsertsWorkers) {
  WorkerInfo w;
  w.id = "host-a/worker-1";
  w.host = "host-a";
  w.cpu_percent = 12.5;
  w.mem_total_bytes = 8ll << 30;
  w.mem_available_bytes = 3ll << 30;
  w.running_jobs = 1;
  w.capacity = 2;
  w.max_cpu_percent = 85;
  w.min_free_mem_bytes = 512ll << 20;
  w.current_json = R"([{"job":1,"video":"a.mp4","progress":3}])";
  w.started_ms = 1000;
  w.last_heartbeat_ms = 2000;
  ASSERT_TRUE(store_->Heartbeat(w).ok());
  w.cpu_percent = 55;
  w.last_heartbeat_ms = 3000;
  w.running_jobs = 2;
  ASSERT_TRUE(store_->Heartbeat(w).ok());
  WorkerInfo b;
  b.id = "a-first";
  b.cpu_percent = std::nan("");
  ASSERT_TRUE(store_->Heartbeat(b).ok());
  auto ws = store_->Workers();
  ASSERT_TRUE(ws.ok()) << ws.status();
  ASSERT_EQ(ws->size(), 2u);
  EXPECT_EQ((*ws)[0].id, "a-first");
  EXPECT_EQ((*ws)[0].cpu_percent, 0);
  const WorkerInfo& got = (*ws)[1];
  EXPECT_EQ(got.id, w.id);
  EXPECT_EQ(got.host, "host-a");
  EXPECT_DOUBLE_EQ(got.cpu_percent, 55);
  EXPECT_EQ(got.mem_total_bytes, 8ll << 30);
  EXPECT_EQ(got.mem_available_bytes, 3ll << 30);
  EXPECT_EQ(got.running_jobs, 2);
  EXPECT_EQ(got.capacity, 2);
  EXPECT_DOUBLE_EQ(got.max_cpu_percent, 85);
  EXPECT_EQ(got.min_free_mem_bytes, 512ll << 20);
  EXPECT_EQ(got.current_json, w.current_json);
  EXPECT_EQ(got.started_ms, 1000);
  EXPECT_EQ(got.last_heartbeat_ms, 3000);
}

// ---- reads ----

TEST_P(StoreTest, ListVideosFiltersAndPages) {
  std::vector<int64_t> jobs;
  for (const char* n : {"Alpha.mp4", "beta.mov", "100%.mp4", "a_b.mp4", "axb.mp4", "gamma.mkv"}) {
    jobs.push_back(Record(n));
  }
  // Make beta failed.
  ASSERT_TRUE(store_->AssignJob(jobs[1], "w").ok());
  const Job b = Claim("w");
  ASSERT_TRUE(store_->FailJob(b.id, b.lease_token, "bad", false, 0).ok());

  auto all = store_->ListVideos({});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 6u);
  for (size_t i = 1; i < all->size(); ++i) {
    EXPECT_TRUE(
        (*all)[i - 1].created_ms > (*all)[i].created_ms ||
        ((*all)[i - 1].created_ms == (*all)[i].created_ms && (*all)[i - 1].id > (*all)[i].id))
        << "newest first";
  }
  EXPECT_EQ((*all)[0].name, "gamma.mkv");

  VideoQuery q;
  q.state = JobState::kFailed;
  auto failed = store_->ListVideos(q);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].name, "beta.mov");
  auto nfailed = store_->CountVideos(q);
  ASSERT_TRUE(nfailed.ok());
  EXPECT_EQ(*nfailed, 1);

  auto names = [&](const std::string& needle) {
    VideoQuery f;
    f.name_contains = needle;
    std::set<std::string> out;
    auto r = store_->ListVideos(f);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      for (const auto& v : *r) out.insert(v.name);
    }
    auto c = store_->CountVideos(f);
    EXPECT_TRUE(c.ok());
    if (c.ok()) {
      EXPECT_EQ(*c, static_cast<int64_t>(out.size())) << needle;
    }
    return out;
  };
  EXPECT_EQ(names("a_b"), (std::set<std::string>{"a_b.mp4"}));      // _ is not a wildcard
  EXPECT_EQ(names("%"), (std::set<std::string>{"100%.mp4"}));       // % is not a wildcard
  EXPECT_EQ(names("ALPHA"), (std::set<std::string>{"Alpha.mp4"}));  // case-insensitive
  EXPECT_EQ(names(".mp4").size(), 4u);
  EXPECT_TRUE(names("\\").empty());
  EXPECT_TRUE(names("' OR 1=1 --").empty());

  VideoQuery page;
  page.limit = 2;
  page.offset = 1;
  auto p = store_->ListVideos(page);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].id, (*all)[1].id);
  EXPECT_EQ((*p)[1].id, (*all)[2].id);
  page.offset = 100;
  auto beyond = store_->ListVideos(page);
  ASSERT_TRUE(beyond.ok());
  EXPECT_TRUE(beyond->empty());
  page.limit = 0;
  page.offset = 0;
  auto zero = store_->ListVideos(page);
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
  page.limit = -1;
  EXPECT_EQ(store_->ListVideos(page).status().code(), Code::kInvalidArgument);
  page.limit = 10;
  page.offset = -5;
  EXPECT_EQ(store_->ListVideos(page).status().code(), Code::kInvalidArgument);
  VideoQuery bad;
  bad.name_contains = "\xFF";
  EXPECT_EQ(store_->ListVideos(bad).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->CountVideos(bad).status().code(), Code::kInvalidArgument);
  auto total = store_->CountVideos({});
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, 6);
}

TEST_P(StoreTest, ListJobsAndGetJob) {
  const int64_t a1 = Record("a.mp4", "1");
  const int64_t b1 = Record("b.mp4", "1");
  const int64_t a2 = Record("a.mp4", "2");
  const int64_t va = MustGetJob(a1).video_id;
  JobQuery q;
  q.video_id = va;
  auto jobs = store_->ListJobs(q);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id, a2);  // newest first
  EXPECT_EQ((*jobs)[1].id, a1);
  JobQuery cancelled;
  cancelled.state = JobState::kCancelled;
  auto c = store_->ListJobs(cancelled);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].id, a1);
  JobQuery page;
  page.limit = 1;
  page.offset = 1;
  auto p = store_->ListJobs(page);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].id, b1);
  page.limit = -1;
  EXPECT_EQ(store_->ListJobs(page).status().code(), Code::kInvalidArgument);
  auto none = store_->GetJob(-1);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto nv = store_->GetVideo(0);
  ASSERT_TRUE(nv.ok());
  EXPECT_FALSE(nv->has_value());
}

// ---- concurrency ----

TEST_P(StoreTest, ClaimRaceEachJobOnce) {
  constexpr int kJobs = 50;
  constexpr int kThreads = 8;
  for (int i = 0; i < kJobs; ++i) Record("v" + std::to_string(i) + ".mp4");
  // Every thread has its own store (own connections), like separate processes.
  std::vector<std::unique_ptr<StateStore>> stores;
  for (int t = 0; t < kThreads; ++t) {
    auto s = db_->Open();
    ASSERT_TRUE(s.ok()) << s.status();
    stores.push_back(std::move(*s));
  }
  std::mutex mu;
  std::map<int64_t, std::vector<std::string>> claims;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string worker = "w" + std::to_string(t);
      for (;;) {
        auto c = stores[t]->ClaimJob(worker, NowMs(), kLease, true);
        if (!c.ok()) {
          ++errors;
          ADD_FAILURE() << c.status();
          return;
        }
        if (!*c) return;
        std::lock_guard<std::mutex> lock(mu);
        claims[(*c)->id].push_back(worker);
        EXPECT_EQ((*c)->lease_token, 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, workers] : claims) {
    EXPECT_EQ(workers.size(), 1u) << "job " << id << " claimed " << workers.size() << " times";
    const Job j = MustGetJob(id);
    EXPECT_EQ(j.attempts, 1);
    EXPECT_EQ(j.worker_id, workers[0]);
  }
}

TEST_P(StoreTest, RecordObjectRaceQueuesOnce) {
  constexpr int kThreads = 6;
  constexpr int kObjects = 15;
  std::vector<std::unique_ptr<StateStore>> stores;
  for (int t = 0; t < kThreads; ++t) {
    auto s = db_->Open();
    ASSERT_TRUE(s.ok()) << s.status();
    stores.push_back(std::move(*s));
  }
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kObjects; ++i) {
        // Same (name, etag) from everyone, plus colliding slugs and a contended new version.
        auto r = stores[t]->RecordObject("obj" + std::to_string(i), "slug", "e", 1);
        ASSERT_TRUE(r.ok()) << r.status();
        if (*r) ++created;
        auto v =
            stores[t]->RecordObject("shared.mp4", "shared.mp4", "etag-" + std::to_string(t), 1);
        ASSERT_TRUE(v.ok()) << v.status();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), kObjects);
  auto n = store_->CountVideos({});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kObjects + 1);
  // Slugs are unique, and "shared.mp4" has exactly one unfinished job: the latest.
  std::set<std::string> slugs;
  auto vids = store_->ListVideos({});
  ASSERT_TRUE(vids.ok());
  for (const auto& v : *vids) EXPECT_TRUE(slugs.insert(v.slug).second) << v.slug;
  auto shared = store_->GetVideoBySlug("shared.mp4");
  ASSERT_TRUE(shared.ok() && shared->has_value());
  JobQuery q;
  q.video_id = (*shared)->id;
  auto jobs = store_->ListJobs(q);
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), static_cast<size_t>(kThreads));
  int queued = 0;
  for (const auto& j : *jobs) {
    if (j.state == JobState::kQueued) {
      ++queued;
      EXPECT_EQ(j.id, (*shared)->latest_job_id);
    } else {
      EXPECT_EQ(j.state, JobState::kCancelled);
    }
  }
  EXPECT_EQ(queued, 1);
}

TEST(JobStateTest, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(JobState::kCancelled); ++i) {
    const auto s = static_cast<JobState>(i);
    auto parsed = ParseJobState(JobStateName(s));
    ASSERT_TRUE(parsed.has_value()) << JobStateName(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_STREQ(JobStateName(JobState::kEncoding), "encoding");
  EXPECT_FALSE(ParseJobState("Queued").has_value());
  EXPECT_FALSE(ParseJobState("").has_value());
  EXPECT_TRUE(IsTerminal(JobState::kCancelled));
  EXPECT_TRUE(IsActive(JobState::kUploading));
  EXPECT_FALSE(IsActive(JobState::kAssigned));
}

#if defined(HF_STORE_TEST_SQLITE)
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest, ::testing::Values("sqlite"));
#endif
#if defined(HF_STORE_TEST_POSTGRES)
INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, ::testing::Values("postgresql"));
#endif

}  // namespace
}  // namespace hlsforge::state
