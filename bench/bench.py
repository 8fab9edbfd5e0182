#!/usr/bin/env python3
"""hlsforge benchmarks: the mission's own ffmpeg commands vs hlsforge, side by side.

Run through ./bench/run (see README "Benchmarks"). Writes bench/RESULTS.md, bench/quality.png and
the raw numbers (bench/results.json). Never part of ./scripts/test: it times things.

Methods, alternated inside every repetition (the order rotates each repetition) so that machine
drift and the other tenants' load fall on every method alike:
  mission_ladder  the mission's 5-rung ladder command, verbatim (its -s:N bug included)
  mission_basic   the mission's basic single-rendition command, verbatim
  hf_ladder       hlsforge encode (default ladder)
  hf_single       hlsforge encode --profile single
  serve           hlsforge serve: copy into DATA/upload -> GET /api/videos says ready
  floor           ffmpeg decode + scale to every rung of our ladder, no encoding (-f null)
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# HLSFORGE_BIN: a copy of the binary, so that rebuilding during a long run cannot swap it midway
HF = Path(os.environ.get("HLSFORGE_BIN", ROOT / "build" / "src" / "app" / "hlsforge"))

MISSION_BASIC = ('ffmpeg -i input.mp4 -c:v libx264 -preset medium -crf 23 -c:a aac -b:a 128k '
                 '-hls_time 2 -hls_playlist_type vod -hls_segment_filename "output_%03d.ts" output.m3u8')
MISSION_LADDER = (
    'ffmpeg -i input.mp4 -filter_complex "[0:v]split=5[v1][v2][v3][v4][v5]" -map "[v1]" -map 0:a '
    '-map "[v2]" -map 0:a -map "[v3]" -map 0:a -map "[v4]" -map 0:a -map "[v5]" -map 0:a '
    '-c:v libx264 -c:a aac -b:v:0 800k -maxrate:v:0 800k -bufsize:v:0 1600k -s:0 640x360 -b:a:0 96k '
    '-b:v:1 2800k -maxrate:v:1 2800k -bufsize:v:1 5600k -s:1 1280x720 -b:a:1 128k '
    '-b:v:2 5000k -maxrate:v:2 5000k -bufsize:v:2 10000k -s:2 1920x1080 -b:a:2 192k '
    '-b:v:3 10000k -maxrate:v:3 10000k -bufsize:v:3 20000k -s:3 2560x1440 -b:a:3 192k '
    '-b:v:4 20000k -maxrate:v:4 20000k -bufsize:v:4 40000k -s:4 3840x2160 -b:a:4 256k '
    '-var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2 v:3,a:3 v:4,a:4" -master_pl_name master.m3u8 '
    '-f hls -hls_time 2 -hls_playlist_type vod -hls_segment_filename "output_%v_%03d.ts" output_%v.m3u8')
MISSION_LABELS = [360, 720, 1080, 1440, 2160]  # what the mission's ladder means rung i to be


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, capture_output=True,
                          text=True, **kw)


def loadavg():
    return os.getloadavg()[0]


def shell_argv(cmd):
    import shlex
    return shlex.split(cmd)


# ---------------------------------------------------------------- process measurement

def proc_hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid, children=True):
    """utime+stime (+ reaped children's) of pid in seconds, from /proc/pid/stat."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    ut, st, cut, cst = (int(x) for x in fields[11:15])
    hz = os.sysconf("SC_CLK_TCK")
    return (ut + st + ((cut + cst) if children else 0)) / hz


def descendants(pid):
    out, kids = [], []
    try:  # children of every thread (a worker thread, not main, starts ffmpeg)
        for t in Path(f"/proc/{pid}/task").iterdir():
            kids += (t / "children").read_text().split()
    except OSError:
        return out
    for k in kids:
        out.append(int(k))
        out.extend(descendants(int(k)))
    return out


def proc_name(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Sampler(threading.Thread):
    """Peak RSS (VmHWM) of a root process and of the ffmpeg processes below it, apart.

    Cheap on purpose, because it shares the 2 cores with what it measures: the process tree is
    walked once a second (a serve process has ~70 threads, ffmpeg dozens), and only the known
    pids' /proc/PID/status are read in between (every 0.2 s). VmHWM is a high-water mark, so a
    sparse reading loses nothing while the process lives."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stop, self.root_kib, self.ffmpeg_kib = pid, False, 0, 0

    def run(self):
        ffmpegs, last_walk = set(), 0.0
        while not self.stop:
            now = time.monotonic()
            if now - last_walk >= 1.0:
                last_walk = now
                ffmpegs |= {d for d in descendants(self.pid) if proc_name(d) == "ffmpeg"}
            self.root_kib = max(self.root_kib, proc_hwm_kib(self.pid))
            for d in list(ffmpegs):
                k = proc_hwm_kib(d)
                if k == 0:
                    ffmpegs.discard(d)
                self.ffmpeg_kib = max(self.ffmpeg_kib, k)
            time.sleep(0.2)


def run_measured(argv, cwd, root_is_ffmpeg):
    """Runs argv to completion. Returns wall, CPU (process + all reaped descendants), RSS."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    smp = Sampler(p.pid)
    smp.start()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    smp.stop = True
    smp.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed ({p.returncode}): {err[-2000:].decode(errors='replace')}")
    r = {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime}
    if root_is_ffmpeg:
        r["ffmpeg_rss_mib"] = ru.ru_maxrss / 1024
    else:
        r["hf_rss_mib"] = smp.root_kib / 1024
        r["ffmpeg_rss_mib"] = max(smp.ffmpeg_kib, 0) / 1024
    return r


# ---------------------------------------------------------------- sources

def gen_sources(work, dur, quick):
    """Synthetic sources from lavfi (no downloads). Mezzanine-quality H.264 (CRF 16) + stereo AAC."""
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    audio = "sine=f=440:sample_rate=48000,pan=stereo|c0=c0|c1=0.5*c0"
    clips = {
        # steady: moving test pattern, easy to encode
        "1080p_steady": ("testsrc2=size=1920x1080:rate=30", dur),
        # film-grain-like: temporal+uniform noise over the same pattern, hard to encode
        "1080p_noise": ("testsrc2=size=1920x1080:rate=30,noise=alls=24:allf=t+u", dur),
        "2160p": ("testsrc2=size=3840x2160:rate=30", min(dur, 10)),
        "720p_portrait": ("testsrc2=size=720x1280:rate=30", dur),
    }
    if quick:
        clips["2160p"] = (clips["2160p"][0], min(dur, 2))
    out = {}
    for name, (v, d) in clips.items():
        f = src / f"{name}.mp4"
        if not f.exists():
            log("generating", f.name)
            sh(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", v, "-f", "lavfi", "-i", audio,
                "-t", str(d), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast",
                "-crf", "16", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "256k", str(f) + ".tmp.mp4"])
            os.rename(str(f) + ".tmp.mp4", f)
        out[name] = {"path": f, "duration": d, "width": int(v.split("size=")[1].split("x")[0]),
                     "height": int(v.split("x")[1].split(":")[0])}
    return out


# ---------------------------------------------------------------- outputs

def ffprobe_wh(path):
    r = sh(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=width,height", "-of", "csv=p=0", str(path)])
    w, h = r.stdout.strip().split("\n")[0].split(",")[:2]
    return int(w), int(h)


def rungs_of(method, outdir):
    """[(label, playlist, ts files)] for one output folder, lowest rung first."""
    outdir = Path(outdir)
    rungs = []
    if method == "mission_ladder":
        for i, label in enumerate(MISSION_LABELS):
            rungs.append((f"{label}p", outdir / f"output_{i}.m3u8",
                          sorted(outdir.glob(f"output_{i}_*.ts"))))
    elif method == "mission_basic":
        rungs.append(("single", outdir / "output.m3u8", sorted(outdir.glob("output_*.ts"))))
    else:
        i = 0
        while (outdir / str(i) / "index.m3u8").exists():
            ts = sorted((outdir / str(i)).glob("*.ts"))
            w, h = ffprobe_wh(ts[0])
            label = "single" if method == "hf_single" else f"{min(w, h)}p"
            rungs.append((label, outdir / str(i) / "index.m3u8", ts))
            i += 1
    res = []
    for label, pl, ts in rungs:
        w, h = ffprobe_wh(ts[0])
        res.append({"label": label, "playlist": str(pl), "bytes": sum(t.stat().st_size for t in ts),
                    "width": w, "height": h})
    return res


def quality(playlist, src):
    """SSIM (All) and PSNR (average) of a rendition scaled back to the source size, vs the source."""
    w, h = src["width"], src["height"]
    g = (f"[0:v]setpts=PTS-STARTPTS,scale={w}:{h}:flags=bicubic,format=yuv420p,split[d1][d2];"
         f"[1:v]setpts=PTS-STARTPTS,format=yuv420p,split[r1][r2];[d1][r1]ssim;[d2][r2]psnr")
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", playlist, "-i", str(src["path"]),
                        "-filter_complex", g, "-an", "-f", "null", "-"],
                       capture_output=True, text=True)
    ssim = re.search(r"SSIM .*All:([0-9.]+)", r.stderr)
    psnr = re.search(r"PSNR .*average:([0-9.inf]+)", r.stderr)
    return (float(ssim.group(1)) if ssim else None, float(psnr.group(1)) if psnr else None)


# ---------------------------------------------------------------- methods

def run_mission(kind, src, out):
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "input.mp4").symlink_to(src["path"])
    cmd = MISSION_LADDER if kind == "mission_ladder" else MISSION_BASIC
    argv = shell_argv(cmd)
    argv[1:1] = ["-v", "error", "-nostdin", "-y"]
    return run_measured(argv, out, root_is_ffmpeg=True)


def run_hf(profile, src, out):
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    return run_measured([str(HF), "encode", str(src["path"]), str(out), "--profile", profile],
                        out.parent, root_is_ffmpeg=False)


def run_floor(src, sizes, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    n = len(sizes)
    g = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + ";".join(
        f"[s{i}]scale={w}:{h}[o{i}]" for i, (w, h) in enumerate(sizes))
    argv = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(src["path"]), "-filter_complex", g]
    for i in range(n):
        argv += ["-map", f"[o{i}]", "-f", "null", "-"]
    return run_measured(argv, out.parent, root_is_ffmpeg=True)


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


class Serve:
    """One `hlsforge serve` on a fresh data folder, port chosen by the kernel."""

    def __init__(self, data, workers=1, poll=0.2, extra=()):
        self.data = Path(data)
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "upload").mkdir(exist_ok=True)
        self.p = subprocess.Popen([str(HF), "serve", "--data", str(self.data), "--port", "0",
                                   "--poll-interval", str(poll), "--workers", str(workers),
                                   # measure the pipeline, not admission control: on a host that
                                   # other tenants keep above 95% CPU the scheduler would
                                   # (rightly) hold the job back
                                   "--max-cpu", "100", *extra],
                                  stdout=subprocess.PIPE, stderr=open(self.data / "serve.log", "w"),
                                  text=True)
        self.url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("serve exited: " + (self.data / "serve.log").read_text()[-2000:])
            m = re.search(r"(http://[0-9.]+:[0-9]+)/api/videos", line)
            if m:
                self.url = m.group(1)
                break
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()

    def videos(self, q=""):
        return http_json(f"{self.url}/api/videos{q}")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def wait_ready(srv, name, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for v in srv.videos("?limit=1000").get("items", []):
            if name in (v.get("name"), v.get("source"), v.get("object")) or v.get("name", "").startswith(name):
                if v.get("state") == "ready":
                    return v
                if v.get("state") in ("failed", "cancelled"):
                    raise RuntimeError(f"video {name} {v.get('state')}: {v}")
        time.sleep(interval)
    raise RuntimeError(f"video {name} not ready in {timeout}s")


def wait_catalog(path, timeout):
    """Until the catalog names a video: the publisher rebuilds it only after the video is
    ready, so this is upload→playable. A stat every 20 ms costs the machine nothing, unlike
    polling the API (each request is CPU the encode would otherwise have)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            st = path.stat()
            if (st.st_mtime_ns, st.st_size) != last:
                last = (st.st_mtime_ns, st.st_size)
                if "#EXT-X-STREAM-INF" in path.read_text():
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{path} names no video after {timeout}s")


def run_serve(src, out):
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    # the default poll interval (2 s), as a user runs it: the wait for the watcher is part of
    # upload->ready
    srv = Serve(out, workers=1, poll=2.0)
    try:
        smp = Sampler(srv.p.pid)
        smp.start()
        cpu0 = proc_cpu_s(srv.p.pid)
        name = src["path"].name
        t0 = time.monotonic()
        shutil.copyfile(src["path"], out / "upload" / name)
        wait_catalog(out / "hls" / "encode" / "master.m3u8", timeout=3600)
        wall = time.monotonic() - t0
        wait_ready(srv, name, timeout=30)  # the API agrees
        cpu = proc_cpu_s(srv.p.pid) - cpu0
        smp.stop = True
        smp.join()
        return {"wall": wall, "cpu": cpu, "hf_rss_mib": smp.root_kib / 1024,
                "ffmpeg_rss_mib": smp.ffmpeg_kib / 1024}
    finally:
        srv.stop()


def serve_output_dir(out):
    d = sorted(p for p in (out / "hls" / "encode").iterdir() if p.is_dir())
    return d[0]


def quality_ceiling(src, w, h):
    """SSIM/PSNR of the source scaled to w x h and back with no encoding at all: the best any
    rung of that size can score in quality() (the same scaler both ways)."""
    W, H = src["width"], src["height"]
    g = (f"[0:v]split[a][b];[a]scale={w}:{h},scale={W}:{H}:flags=bicubic,format=yuv420p,split[d1][d2];"
         f"[b]format=yuv420p,split[r1][r2];[d1][r1]ssim;[d2][r2]psnr")
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(src["path"]),
                        "-filter_complex", g, "-an", "-f", "null", "-"], capture_output=True, text=True)
    ssim = re.search(r"SSIM .*All:([0-9.]+)", r.stderr)
    psnr = re.search(r"PSNR .*average:([0-9.inf]+)", r.stderr)
    return (float(ssim.group(1)) if ssim else None, float(psnr.group(1)) if psnr else None)


def bench_ceiling(work, sources, results, clips):
    """Scale-only quality per rung size of our ladder (why a 720p rung cannot match a rung that is
    really 1080p, as the mission's "720p" is)."""
    res = results.setdefault("ceiling", {})
    for clip in clips:
        rows = []
        for r in results.get("outputs", {}).get(clip, {}).get("hf_ladder", []):
            if (r["width"], r["height"]) == (sources[clip]["width"], sources[clip]["height"]):
                continue
            ssim, psnr = quality_ceiling(sources[clip], r["width"], r["height"])
            rows.append({"label": r["label"], "width": r["width"], "height": r["height"],
                         "ssim": ssim, "psnr": psnr})
            log(f"{clip:14s} ceiling {r['label']} {r['width']}x{r['height']}: ssim {ssim} psnr {psnr}")
        res[clip] = rows
    save(results)


# ---------------------------------------------------------------- encode comparisons

def bench_encodes(work, sources, reps, clips_full, clips_once, results):
    runs = results.setdefault("runs", {})
    methods = ["mission_ladder", "mission_basic", "hf_ladder", "hf_single", "serve", "floor"]
    floor_sizes = {}

    def one(clip, m, rep):
        src = sources[clip]
        out = work / "out" / clip / m
        load = loadavg()
        if m.startswith("mission"):
            r = run_mission(m, src, out)
        elif m == "hf_ladder":
            r = run_hf("ladder", src, out)
        elif m == "hf_single":
            r = run_hf("single", src, out)
        elif m == "serve":
            r = run_serve(src, out)
        else:
            r = run_floor(src, floor_sizes[clip], out)
        r["load"] = load
        r["rep"] = rep
        runs.setdefault(clip, {}).setdefault(m, []).append(r)
        log(f"{clip:14s} {m:15s} rep {rep}: wall {r['wall']:.1f}s cpu {r['cpu']:.1f}s load {load:.1f}")
        return out

    def sizes_for(clip):
        # the rung sizes our ladder will have, from the planner (`hlsforge probe`), no encode
        if clip not in floor_sizes:
            txt = sh([str(HF), "probe", str(sources[clip]["path"])]).stdout
            floor_sizes[clip] = [(int(a), int(b)) for a, b in
                                 re.findall(r"^\s+\d+\s+\d+p\s+(\d+)x(\d+)\s", txt, re.M)]
            if not floor_sizes[clip]:
                raise RuntimeError(f"no ladder in `hlsforge probe` output: {txt}")

    plan = [(c, reps, methods) for c in clips_full] + [
        (c, 1, ["mission_ladder", "hf_ladder"]) for c in clips_once]
    for clip, n, ms in plan:
        runs[clip] = {}  # a rerun of the section replaces, never appends to, the last one
        if "floor" in ms:
            sizes_for(clip)
        for rep in range(1, n + 1):
            k = (rep - 1) % len(ms)
            for m in ms[k:] + ms[:k]:  # rotate the order each repetition
                one(clip, m, rep)
        # outputs of the last repetition: bytes, real sizes, quality
        outs = results.setdefault("outputs", {}).setdefault(clip, {})
        for m in ms:
            if m == "floor":
                continue
            out = work / "out" / clip / m
            if m == "serve":
                out = serve_output_dir(out)
            rs = rungs_of("hf_ladder" if m == "serve" else m, out)
            for r in rs:
                r["ssim"], r["psnr"] = quality(r["playlist"], sources[clip])
                log(f"{clip:14s} {m:15s} {r['label']:6s} {r['width']}x{r['height']} "
                    f"{r['bytes']} B ssim {r['ssim']} psnr {r['psnr']}")
            outs[m] = rs
        save(results)


def ladder_profile_with_preset(work, preset):
    """The built-in ladder profile (its TOML text, read from src/media/profile.cc so the rung
    table is not copied here) with only x264_preset changed, as a profile file."""
    text = (ROOT / "src" / "media" / "profile.cc").read_text()
    m = re.search(r'kLadderToml = R"\((.*?)\)";', text, re.S)
    if not m or 'x264_preset = "' not in m.group(1):
        raise RuntimeError("cannot find the ladder profile's TOML in src/media/profile.cc")
    toml = re.sub(r'x264_preset = "[a-z]+"', f'x264_preset = "{preset}"', m.group(1))
    toml = toml.replace('name = "ladder"', f'name = "ladder-{preset}"')
    path = work / "profiles" / f"ladder-{preset}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toml)
    return path


def bench_presets(work, sources, results, clips, presets, seconds=10):
    """One encode per x264 preset of the default ladder (nothing else changed): what a slower or
    faster preset buys in SSIM at the same capped bitrates, and what it costs in time. The
    evidence behind the preset the ladder profile uses (no target; 1 repetition)."""
    res = results["presets"] = {}
    for clip in clips:
        src = dict(sources[clip])
        if src["duration"] > seconds:  # the first `seconds` of the clip, stream copy
            cut = work / "presets" / f"{clip}-{seconds:g}s.mp4"
            cut.parent.mkdir(parents=True, exist_ok=True)
            sh(["ffmpeg", "-v", "error", "-y", "-i", str(src["path"]), "-t", f"{seconds:g}", "-c", "copy",
                str(cut)])
            src.update(path=cut, duration=seconds)
        res[clip] = {}
        for preset in presets:
            prof = ladder_profile_with_preset(work, preset)
            out = work / "out" / clip / f"preset-{preset}"
            load = loadavg()
            r = run_hf(str(prof), src, out)
            r["load"], r["duration"] = load, src["duration"]
            r["rungs"] = rungs_of("hf_ladder", out)
            for x in r["rungs"]:
                x["ssim"], x["psnr"] = quality(x["playlist"], src)
            res[clip][preset] = r
            log(f"{clip:14s} preset {preset:9s}: wall {r['wall']:.1f}s cpu {r['cpu']:.1f}s "
                + " ".join(f"{x['label']} {x['bytes']}B ssim {x['ssim']}" for x in r["rungs"]))
            save(results)


def bench_overhead(work, sources, results, reps, clips):
    """Pipeline overhead: `hlsforge serve` upload→ready against bare `hlsforge encode` of the same
    clip, alternating pair by pair (the order flips each repetition), so the two see the same
    machine. This is the number the 1.05x target is judged on."""
    res = results.setdefault("overhead", {})
    for clip in clips:
        src = sources[clip]
        rr = res[clip] = {"serve": [], "hf_ladder": []}
        for rep in range(1, reps + 1):
            for m in (["serve", "hf_ladder"] if rep % 2 else ["hf_ladder", "serve"]):
                load = loadavg()
                if m == "serve":
                    out = work / "out" / clip / "serve_pair"
                    r = run_serve(src, out)
                    r.update(serve_timings(out))
                else:
                    r = run_hf("ladder", src, work / "out" / clip / "hf_ladder_pair")
                r["load"], r["rep"] = load, rep
                rr[m].append(r)
                log(f"{clip:14s} {m:15s} rep {rep}: wall {r['wall']:.1f}s cpu {r['cpu']:.1f}s load {load:.1f}"
                    + (f" (queued after {r.get('queued_after_s', 0):.2f}s, worker: download "
                       f"{r.get('download_s', 0):.2f}s encode {r.get('encode_s', 0):.1f}s upload "
                       f"{r.get('upload_s', 0):.2f}s)" if m == "serve" else ""))
                save(results)


def serve_timings(out):
    """The worker's own phase timings (state store) and when the watcher queued the job."""
    import sqlite3
    try:
        db = sqlite3.connect(str(out / "hlsforge.db"))
        row = db.execute("SELECT timings_json, created_ms FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
        db.close()
        t = json.loads(row[0]) if row and row[0] else {}
        src = next((out / "upload").iterdir())
        t["queued_after_s"] = row[1] / 1000 - src.stat().st_mtime if row else None
        return {k: t.get(k) for k in ("download_s", "encode_s", "upload_s", "queued_after_s")}
    except Exception as e:  # the timings are a diagnosis, never a reason to fail the run
        return {"timings_error": str(e)}


# ---------------------------------------------------------------- service benchmarks

def bench_watcher_api(work, results, n_objects, api_seconds):
    data = work / "svc"
    shutil.rmtree(data, ignore_errors=True)
    up = data / "upload"
    up.mkdir(parents=True)
    log(f"creating {n_objects} objects")
    for i in range(n_objects):
        (up / f"obj{i:05d}.bin").write_bytes(b"x")
    poll = 2.0  # the default --poll-interval
    srv = Serve(data, workers=0, poll=poll)
    r = results.setdefault("services", {})
    try:
        t0 = time.monotonic()
        while srv.videos("?limit=1").get("total", 0) < n_objects:
            time.sleep(0.5)
            if time.monotonic() - t0 > 900:
                raise RuntimeError("watcher did not queue the objects in 900 s")
        r["ingest_s"] = time.monotonic() - t0
        log(f"{n_objects} objects queued in {r['ingest_s']:.1f}s")
        time.sleep(2 * poll)
        # steady state: every poll lists 10k known objects; the process does nothing else
        # (no workers, no HTTP traffic except this measurement's start/end)
        polls = 10
        c0, w0 = proc_cpu_s(srv.p.pid), time.monotonic()
        time.sleep(polls * poll)
        c1, w1 = proc_cpu_s(srv.p.pid), time.monotonic()
        r["poll_cpu_ms"] = (c1 - c0) / ((w1 - w0) / poll) * 1000
        r["poll_interval_s"] = poll
        r["watcher_load"] = loadavg()
        log(f"watcher: {r['poll_cpu_ms']:.1f} ms CPU per poll")
        # a new object: time from its write until it is queued, at random phases of the poll
        # cycle (a folder bucket also waits until the file is settle_age = 1 s old)
        import random
        rnd = random.Random(7)
        lat = []
        for k in range(10):
            time.sleep(rnd.uniform(0, poll))
            name = f"new{k}.bin"
            t0 = time.monotonic()
            (up / name).write_bytes(b"y")
            while True:
                items = srv.videos(f"?q={name}&limit=5").get("items", [])
                if any(name in json.dumps(v) for v in items):
                    break
                if time.monotonic() - t0 > 30:
                    raise RuntimeError(f"{name} not queued in 30 s")
                time.sleep(0.01)
            lat.append(time.monotonic() - t0)
        r["queue_latency_s"] = lat
        log(f"new object queued after {lat} s")
        # API: GET /api/videos with n_objects videos, paced to 500 req/s
        r["api"] = wrk_paced(f"{srv.url}/api/videos", rate=500, seconds=api_seconds)
        r["api"]["total_videos"] = srv.videos("?limit=1").get("total")
        log("api:", r["api"])
    finally:
        srv.stop()
    shutil.rmtree(data, ignore_errors=True)


def wrk_paced(url, rate, seconds, conns=20):
    """wrk has no fixed-rate mode (that is wrk2): each connection sleeps between requests via the
    Lua delay() hook. A 5 s calibration run measures the response time, and the delay becomes
    conns/rate minus it, so the achieved rate comes close to `rate` (it is reported). Latency
    percentiles are wrk's, per request (no coordinated-omission correction)."""
    lua = BENCH / "paced.lua"
    delay_ms = conns * 1000.0 / rate
    for _ in range(2):
        env = dict(os.environ, WRK_DELAY_MS=f"{delay_ms:.3f}")
        cal = subprocess.run(["wrk", "-t2", f"-c{conns}", "-d5s", "-s", str(lua), url],
                             capture_output=True, text=True, env=env).stdout
        m = re.search(r"Requests/sec:\s+([0-9.]+)", cal)
        achieved = float(m.group(1)) if m else rate
        if achieved >= 0.97 * rate:
            break
        # per connection one cycle is delay + response time: take the difference off the delay
        delay_ms = max(0.0, delay_ms - (conns * 1000.0 / achieved - conns * 1000.0 / rate))
    env = dict(os.environ, WRK_DELAY_MS=f"{delay_ms:.3f}")
    load = loadavg()
    r = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(lua),
                        url], capture_output=True, text=True, env=env)
    txt = r.stdout
    out = {"raw": txt, "load": load, "offered_rate": rate, "connections": conns, "delay_ms": delay_ms}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", txt)
    out["rate"] = float(m.group(1)) if m else None
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"\s{p}%\s+([0-9.]+)(us|ms|s)\b", txt)
        if m:
            v = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
            out[f"p{p}_ms"] = v
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    out["non2xx"] = int(m.group(1)) if m else 0
    return out


def bench_segments(work, results, seconds):
    """Segment serving from hlsforge serve's /hls/ on loopback, unpaced wrk."""
    data = work / "seg"
    shutil.rmtree(data, ignore_errors=True)
    seg = data / "hls" / "encode" / "bench" / "0"
    seg.mkdir(parents=True)
    (seg / "0.ts").write_bytes(os.urandom(2 * 1024 * 1024))  # a 2 s segment at 8 Mbit/s
    srv = Serve(data, workers=0, poll=2)
    try:
        out = wrk_throughput(f"{srv.url}/hls/encode/bench/0/0.ts", seconds)
        results.setdefault("services", {})["segments"] = out
        log(f"segments: {out['gbit_s']:.2f} Gbit/s")
    finally:
        srv.stop()
    shutil.rmtree(data, ignore_errors=True)


def make_big_source(mem, target_bytes):
    """~target_bytes of 1080p intra-only MJPEG of heavy noise + PCM audio (a few MB a frame, fast
    to decode): 2 s generated once and repeated with -stream_loop -c copy, so only ~600 frames
    must be encoded however big the file is."""
    shutil.rmtree(mem, ignore_errors=True)
    mem.mkdir(parents=True)
    base = mem / "base.mov"
    sh(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
        "testsrc2=size=1920x1080:rate=30,noise=alls=100:allf=u", "-f", "lavfi", "-i",
        "sine=f=440:sample_rate=48000", "-t", "2", "-c:v", "mjpeg", "-q:v", "1", "-pix_fmt",
        "yuvj420p", "-c:a", "pcm_s16le", str(base)])
    loops = max(0, int(target_bytes / base.stat().st_size + 0.999) - 1)
    big = mem / "big.mov"
    sh(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(base), "-c", "copy",
        str(big)])
    base.unlink()
    size = big.stat().st_size
    log(f"memory source {size / 2**30:.2f} GiB")
    return big


def bench_memory(work, results, target_bytes):
    """A ~2 GiB source through serve; peak RSS of the hlsforge process itself vs ffmpeg.
    Cheap to make: 1080p intra-only MJPEG of heavy noise (a few MB a frame, fast to decode),
    2 s generated once and repeated with -stream_loop -c copy, so only ~600 frames to encode."""
    mem = work / "mem"
    big = make_big_source(mem, target_bytes)
    size = big.stat().st_size
    data = mem / "data"
    srv = Serve(data, workers=1, poll=0.2)
    try:
        smp = Sampler(srv.p.pid)
        smp.start()
        cur_max = 0
        t0 = time.monotonic()
        stop = threading.Event()

        def rss():
            nonlocal cur_max
            while not stop.is_set():
                try:
                    for line in open(f"/proc/{srv.p.pid}/status"):
                        if line.startswith("VmRSS:"):
                            cur_max = max(cur_max, int(line.split()[1]))
                except OSError:
                    pass
                time.sleep(0.05)

        th = threading.Thread(target=rss, daemon=True)
        th.start()
        # the "upload": a copy into the bucket folder (rename into place, as an uploader does)
        shutil.copyfile(big, data / "upload" / ".big.mov.part")
        os.rename(data / "upload" / ".big.mov.part", data / "upload" / "big.mov")
        wait_ready(srv, "big.mov", timeout=3600, interval=0.5)
        stop.set()
        th.join()
        smp.stop = True
        smp.join()
        results.setdefault("services", {})["memory"] = {
            "source_bytes": size, "hf_rss_peak_mib": cur_max / 1024, "hf_hwm_mib": smp.root_kib / 1024,
            "ffmpeg_rss_mib": smp.ffmpeg_kib / 1024, "wall": time.monotonic() - t0, "load": loadavg()}
        log("memory:", results["services"]["memory"])
    finally:
        srv.stop()
        shutil.rmtree(mem, ignore_errors=True)


# ---------------------------------------------------------------- distributed stack

STACK_PORTS = {"S3": 14566, "REDIS": 16379, "PG": 15432, "HTTP": 18080, "API": 18000}


class Stack:
    """deploy/stack on its own folder and ports (never a developer's running stack)."""

    def __init__(self, work):
        self.dir = work / "stack"
        self.env = dict(os.environ, HLSFORGE_STACK_DIR=str(self.dir), HLSFORGE_BIN=str(HF),
                        # stops by itself even if this script dies
                        HLSFORGE_STACK_LIFETIME_S="10800",
                        # as for serve: measure the pipeline, not admission control
                        HLSFORGE_MAX_CPU="100")
        for k, v in STACK_PORTS.items():
            self.env[f"HLSFORGE_STACK_{k}_PORT"] = str(v)
        self.cdn = f"http://127.0.0.1:{STACK_PORTS['HTTP']}"

    def run(self, *args, timeout=600):
        return subprocess.run([str(ROOT / "deploy" / "stack"), *args], env=self.env, check=True,
                              capture_output=True, text=True, timeout=timeout)

    def up(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        self.run("up")
        import boto3
        from botocore.config import Config as BotoConfig
        self.s3 = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{STACK_PORTS['S3']}", aws_access_key_id="S3RVER",
            aws_secret_access_key="S3RVER", region_name="us-east-1",
            config=BotoConfig(s3={"addressing_style": "path"}))

    def down(self):
        try:
            self.run("down", timeout=180)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def hf_pids(self):
        """pids of the stack's hlsforge processes (api, watcher, workers), by component."""
        out = {}
        for name in ["api", "watcher", "w1", "w2"]:
            try:
                pid = int((self.dir / name / "pid").read_text())
            except (OSError, ValueError):
                continue
            for p in [pid] + descendants(pid):
                if proc_name(p) == "hlsforge":
                    out[name] = p
                    break
        return out

    def psql(self, sql, *params):
        args = ["psql", "-X", "-q", "-tA", "-F", "\t", "-h", "127.0.0.1", "-p", str(STACK_PORTS["PG"]),
                "-U", "postgres", "-d", "hlsforge"]
        for i, p in enumerate(params, 1):
            args += ["-v", f"p{i}={p}"]
        r = subprocess.run(args, input=sql, capture_output=True, text=True, check=True)
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def video(self, name):
        rows = self.psql("SELECT state, slug, coalesce(error, '') FROM videos WHERE name = :'p1'", name)
        return rows[0] if rows else None


class TreeSampler(threading.Thread):
    """Sampler for several hlsforge processes (each apart) and any ffmpeg below them."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.stop, self.hf_kib, self.ffmpeg_kib = pids, False, {}, 0

    def run(self):
        ffmpegs, last_walk = set(), 0.0
        while not self.stop:
            now = time.monotonic()
            if now - last_walk >= 1.0:
                last_walk = now
                for pid in self.pids.values():
                    ffmpegs |= {d for d in descendants(pid) if proc_name(d) == "ffmpeg"}
            for name, pid in self.pids.items():
                self.hf_kib[name] = max(self.hf_kib.get(name, 0), proc_hwm_kib(pid))
            for d in list(ffmpegs):
                k = proc_hwm_kib(d)
                if k == 0:
                    ffmpegs.discard(d)
                self.ffmpeg_kib = max(self.ffmpeg_kib, k)
            time.sleep(0.2)


def run_stack_once(st, src, key):
    """boto3 PUT into the upload bucket -> the video is ready in PostgreSQL. CPU = every hlsforge
    process of the stack (api, watcher, both workers, with the ffmpeg they reaped)."""
    pids = st.hf_pids()
    cpu0 = {n: proc_cpu_s(p) for n, p in pids.items()}
    smp = TreeSampler(pids)
    smp.start()
    t0 = time.monotonic()
    st.s3.upload_file(str(src["path"]), "upload", key)
    put_s = time.monotonic() - t0
    put_done = time.time()
    # Ready = the catalog (rebuilt after the video is ready) names it. One HEAD on s3rver every
    # 0.2 s, a GET only when the ETag changed; PostgreSQL is asked every 5 s for failures.
    etag, n = None, 0
    while True:
        try:
            h = st.s3.head_object(Bucket="hls", Key="encode/master.m3u8")
            if h["ETag"] != etag:
                etag = h["ETag"]
                body = st.s3.get_object(Bucket="hls", Key="encode/master.m3u8")["Body"].read().decode()
                if key.replace("/", "_") in body or st.video(key) and st.video(key)[0] == "ready":
                    break
        except st.s3.exceptions.ClientError:
            pass
        n += 1
        if n % 25 == 0:
            v = st.video(key)
            if v and v[0] == "failed":
                raise RuntimeError(f"stack: {key} failed: {v[2]}")
        if time.monotonic() - t0 > 3600:
            raise RuntimeError(f"stack: {key} not ready in 3600 s")
        time.sleep(0.2)
    wall = time.monotonic() - t0
    v = st.video(key)
    if not v or v[0] != "ready":
        raise RuntimeError(f"stack: catalog names {key} but the state store says {v}")
    # how long after the PUT completed the watcher queued it (poll interval 2 s + 250 ms look)
    rows = st.psql("SELECT min(created_ms) FROM jobs WHERE video_name = :'p1'", key)
    queued_after = int(rows[0][0]) / 1000 - put_done if rows and rows[0][0] else None
    # the worker's own phase timings (download from s3rver, encode, segment uploads)
    rows = st.psql("SELECT timings_json FROM jobs WHERE video_name = :'p1' AND state = 'ready' "
                   "ORDER BY id DESC LIMIT 1", key)
    phases = json.loads(rows[0][0]) if rows and rows[0] and rows[0][0] else {}
    smp.stop = True
    smp.join()
    cpu = sum(proc_cpu_s(p) - cpu0[n] for n, p in pids.items())
    return {"wall": wall, "cpu": cpu, "put_s": put_s, "slug": v[1], "queued_after_s": queued_after,
            "download_s": phases.get("download_s"), "encode_s": phases.get("encode_s"),
            "upload_s": phases.get("upload_s"),
            "hf_rss_mib": max(smp.hf_kib.values()) / 1024,
            "hf_rss_by_process_mib": {n: k / 1024 for n, k in smp.hf_kib.items()},
            "ffmpeg_rss_mib": smp.ffmpeg_kib / 1024}


def bench_stack(work, sources, results, plan, seg_seconds):
    """The distributed stack end to end (s3rver, Redis, PostgreSQL, nginx, api, watcher, two
    workers), alternating with bare `hlsforge encode` of the same clip; then segment throughput
    through nginx (the CDN) for a segment the stack published."""
    st = Stack(work)
    log("stack: up")
    st.up()
    res = results.setdefault("stack", {})
    try:
        for clip, reps in plan:
            src = sources[clip]
            rr = res[clip] = {"stack": [], "hf_ladder": []}
            for rep in range(1, reps + 1):
                order = ["stack", "hf_ladder"] if rep % 2 else ["hf_ladder", "stack"]
                for m in order:
                    load = loadavg()
                    if m == "stack":
                        r = run_stack_once(st, src, f"bench/{clip}-{rep}-{int(time.time())}.mp4")
                    else:
                        r = run_hf("ladder", src, work / "out" / clip / "hf_ladder_stackpair")
                    r["load"], r["rep"] = load, rep
                    rr[m].append(r)
                    log(f"{clip:14s} {m:15s} rep {rep}: wall {r['wall']:.1f}s cpu {r['cpu']:.1f}s "
                        f"load {load:.1f}")
                    save(results)
        # Segment throughput through nginx: the biggest segment the stack published.
        slug = next(r["slug"] for c, _ in plan for r in res[c]["stack"])
        objs = st.s3.list_objects_v2(Bucket="hls", Prefix=f"encode/{slug}/").get("Contents", [])
        seg = max((o for o in objs if o["Key"].endswith(".ts")), key=lambda o: o["Size"])
        url = f"{st.cdn}/hls/{seg['Key']}"
        with urllib.request.urlopen(url, timeout=10) as r:
            if len(r.read()) != seg["Size"]:
                raise RuntimeError(f"nginx served a short {url}")
        res["nginx_segments"] = wrk_throughput(url, seg_seconds)
        res["nginx_segments"]["segment_bytes"] = seg["Size"]
        res["nginx_segments"]["url_path"] = "/hls/" + seg["Key"]
        log(f"nginx segments: {res['nginx_segments']['gbit_s']:.2f} Gbit/s "
            f"({seg['Size']} B segment)")
        save(results)
    finally:
        log("stack: down")
        st.down()


def bench_stack_memory(work, results, target_bytes):
    """The 2 GiB source through the distributed stack: boto3 multipart PUT into s3rver, the
    worker streams it down (libcurl to a scratch file), encodes, and uploads the segments. Peak
    RSS of each hlsforge process (api, watcher, w1, w2) apart from the ffmpeg they run: the S3
    paths, not only the folder bucket of `serve`, must never hold a whole file in memory."""
    mem = work / "mem"
    big = make_big_source(mem, target_bytes)
    st = Stack(work)
    log("stack (memory): up")
    st.up()
    try:
        load = loadavg()
        r = run_stack_once(st, {"path": big}, f"bench/big-{int(time.time())}.mov")
        r.update({"source_bytes": big.stat().st_size, "load": load})
        results.setdefault("services", {})["memory_stack"] = r
        log("memory (stack):", r)
        save(results)
    finally:
        log("stack (memory): down")
        st.down()
        shutil.rmtree(mem, ignore_errors=True)


MICRO = Path(os.environ.get("HLSFORGE_MICRO_BENCH",
                           ROOT / "build" / "bench" / "micro" / "hlsforge_micro_bench"))


def bench_micro(results, reps):
    """Google Benchmark micro-benchmarks (bench/micro): medians of `reps` repetitions."""
    if not MICRO.exists():
        raise RuntimeError(f"{MICRO} missing: run ./scripts/build first")
    load = loadavg()
    r = subprocess.run([str(MICRO), "--benchmark_format=json", f"--benchmark_repetitions={reps}",
                        "--benchmark_report_aggregates_only=true"], capture_output=True, text=True,
                       check=True)
    data = json.loads(r.stdout)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            raise RuntimeError(f"micro-benchmark {b['name']}: {b.get('error_message')}")
        agg = b.get("aggregate_name")
        if agg not in ("median", "cv"):  # cv: stddev / mean over the repetitions
            continue
        row = rows.setdefault(b["run_name"], {"unit": b["time_unit"]})
        row[f"real_{agg}"], row[f"cpu_{agg}"] = b["real_time"], b["cpu_time"]
    results["micro"] = {"load": load, "reps": reps, "rows": rows,
                        "library_build_type": data.get("context", {}).get("library_build_type")}
    for name, row in rows.items():
        log(f"micro {name}: cpu median {row['cpu_median']:.3f} {row['unit']}")
    save(results)


def wrk_throughput(url, seconds):
    """Unpaced wrk (2 threads, 8 connections): bytes per second on loopback."""
    load = loadavg()
    r = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", url], capture_output=True,
                       text=True)
    m = re.search(r"Transfer/sec:\s+([0-9.]+)(B|KB|MB|GB)", r.stdout)
    mib = float(m.group(1)) * {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024}[m.group(2)] if m else 0
    m2 = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    return {"raw": r.stdout, "load": load, "gbit_s": mib * 2**20 * 8 / 1e9,
            "non2xx": int(m2.group(1)) if m2 else 0}


# ---------------------------------------------------------------- report

RESULTS_JSON = Path(os.environ.get("BENCH_RESULTS", BENCH / "results.json"))


def save(results):
    RESULTS_JSON.write_text(json.dumps(results, indent=1, default=str))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="short clips, 1 repetition, small services")
    ap.add_argument("--duration", type=float, help="seconds of each 1080p/portrait clip (30 full)")
    ap.add_argument("--reps", type=int, help="repetitions of each method (3 full)")
    ap.add_argument("--work", default="/tmp/hlsforge-bench", help="scratch folder (deleted parts)")
    ap.add_argument("--only", default="encode,ceiling,presets,overhead,stack,services,memory,stackmem,micro", help="comma list of sections")
    ap.add_argument("--objects", type=int, default=10000)
    a = ap.parse_args()
    dur = a.duration or (4 if a.quick else 30)
    reps = a.reps or (1 if a.quick else 3)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if not HF.exists():
        sys.exit(f"{HF} missing: run ./scripts/build first")
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() and a.only != ap.get_default("only") else {}
    mach = results.setdefault("machine", {})
    mach.update({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "cores": os.cpu_count(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "ffmpeg": sh(["ffmpeg", "-version"]).stdout.split("\n")[0],
        "x264": "libx264 (Debian)", "kernel": os.uname().release,
        "load_at_start": open("/proc/loadavg").read().strip(),
        "git": sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).stdout.strip(),
        "quick": a.quick})
    secs = a.only.split(",")
    # which binary and commit made each part of the results (sections may be rerun on their own)
    mach.setdefault("sections", {})[a.only] = {
        "date": mach["date"], "git": mach["git"], "binary": str(HF),
        "binary_mtime": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(HF.stat().st_mtime))}
    if "encode" in secs:
        mach.update({"duration": dur, "reps": reps})
    if "encode" in secs:
        sources = gen_sources(work, dur, a.quick)
        results["sources"] = {k: {kk: str(vv) for kk, vv in v.items()} for k, v in sources.items()}
        bench_encodes(work, sources, reps, ["1080p_steady", "1080p_noise"], ["2160p", "720p_portrait"],
                      results)
    if "ceiling" in secs:
        sources = gen_sources(work, dur, a.quick)
        bench_ceiling(work, sources, results, ["1080p_steady", "1080p_noise"])
    if "presets" in secs:
        sources = gen_sources(work, dur, a.quick)
        # the noise clip only: on the steady clip every preset sits at the resolution ceiling
        bench_presets(work, sources, results, ["1080p_noise"], ["faster", "medium"])
    if "overhead" in secs:
        sources = gen_sources(work, dur, a.quick)
        bench_overhead(work, sources, results, reps, ["1080p_steady"])
    if "stack" in secs:
        sources = gen_sources(work, dur, a.quick)
        bench_stack(work, sources, results,
                    [("1080p_steady", reps)] + ([] if a.quick else [("1080p_noise", 1)]),
                    5 if a.quick else 10)
    if "services" in secs:
        n = 1000 if a.quick else a.objects
        bench_watcher_api(work, results, n, 5 if a.quick else 20)
        bench_segments(work, results, 5 if a.quick else 10)
        save(results)
    if "memory" in secs:
        bench_memory(work, results, (256 << 20) if a.quick else (2 << 30))
        save(results)
    if "micro" in secs:
        bench_micro(results, 1 if a.quick else 5)
    if "stackmem" in secs:
        bench_stack_memory(work, results, (256 << 20) if a.quick else (2 << 30))
    results["machine"]["load_at_end"] = open("/proc/loadavg").read().strip()
    save(results)
    if RESULTS_JSON == BENCH / "results.json":
        subprocess.run([sys.executable, str(BENCH / "report.py")], check=True)


if __name__ == "__main__":
    main()
