#include "pipeline/media_encoder.h"

#include "media/package.h"

namespace hlsforge::pipeline {
namespace {

class MediaEncoder : public Encoder {
 public:
  explicit MediaEncoder(MediaEncoderOptions o) : options_(std::move(o)) {}

  Result<EncodeOutput> Encode(const EncodeRequest& req) override {
    media::EncodeOptions o;
    o.profile = options_.profile;
    o.threads = options_.threads;
    o.cancel = req.cancel;
    if (req.on_progress) {
      o.on_progress = [&req](const media::Progress& p) { req.on_progress(p.percent, p.speed); };
    }
    ASSIGN_OR_RETURN(media::EncodeResult r, media::EncodePackage(req.input, req.outdir, o));
    EncodeOutput out;
    out.source = r.source.ToJson();
    out.source["ladder"] = r.ladder.ToJson();
    for (const auto& x : r.renditions) {
      RenditionFacts f;
      f.index = x.index;
      f.label = x.label;
      f.width = x.width;
      f.height = x.height;
      f.bandwidth = x.bandwidth;
      f.average_bandwidth = x.average_bandwidth;
      f.codecs = x.codecs;
      f.frame_rate = x.frame_rate;
      f.segments = x.segments;
      f.bytes = x.bytes;
      f.duration = x.duration;
      out.renditions.push_back(f);
    }
    return out;
  }

 private:
  MediaEncoderOptions options_;
};

}  // namespace

std::unique_ptr<Encoder> MakeMediaEncoder(const MediaEncoderOptions& options) {
  return std::make_unique<MediaEncoder>(options);
}

}  // namespace hlsforge::pipeline
