"""Render a one-minute practice and report size, speed, loudness and peaks (run by hand).

.venv/bin/python bench/audio_render.py [--out DIR] [--repeat N]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.audio import processing, speech
from app.audio.markup import Speech, estimate_seconds, parse_script
from app.audio.pcm import AudioSegment

SCRIPT = """\
Welcome. Find a position that is comfortable enough for now, sitting or lying down.
If it feels right, let your eyes close, or rest your gaze softly on the floor.

Notice the places where your body is supported: the floor, the chair, the bed.
Let them take a little of your weight.

[pause 8s]

Now turn your attention to the breath. There is no need to change it.
Just notice the air coming in, and the air going out.

If you notice pain, see if you can meet it with a little kindness,
the way you might comfort a friend who is hurting.

[pause 6s]

When you are ready, take a slightly deeper breath, and let your eyes open.
"""


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children: fair even on a busy machine."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _replaying(voices: list[AudioSegment]) -> processing.Speaker:
    """A speaker handing back speech already synthesised, so synthesis is timed on its own."""

    def speak(_texts: Sequence[str]) -> list[AudioSegment]:
        return voices

    return speak


def main() -> None:
    """Render SCRIPT and print measurements of each rendition."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="keep the renditions here")
    parser.add_argument("--repeat", type=int, default=1, help="renders to time")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="tend-bench-"))

    segments = parse_script(SCRIPT)
    print(f"voice: {speech.voice_id()}  pipeline: {processing.pipeline_version}")
    print(f"estimated speech + pauses: {estimate_seconds(segments):.1f} s")

    for _ in range(args.repeat):
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        spoken = speech.synthesise([s.text for s in segments if isinstance(s, Speech)])
        synthesised = time.perf_counter()
        composed = processing.compose(segments, _replaying(spoken))
        finished = processing.finish(composed)
        processed = time.perf_counter()
        renditions = processing.encode(finished, out, "bench")
        done = time.perf_counter()
        cpu = _cpu_seconds() - cpu_started

        seconds = len(finished) / 1000
        print(
            f"\naudio {seconds:.1f} s; synthesis {synthesised - started:.2f} s, "
            f"compose+finish {processed - synthesised:.2f} s, "
            f"encode+measure {done - processed:.2f} s; "
            f"total {done - started:.2f} s = {seconds / (done - started):.1f}x real time "
            f"(load average {os.getloadavg()[0]:.1f}); CPU {cpu:.1f} s including ffmpeg and "
            f"Piper = {seconds / cpu:.1f}x real time per core"
        )
        for r in renditions:
            per_minute = r.size_bytes / (r.duration_seconds / 60)
            print(
                f"  {r.path.name:28} {r.mime_type:24} {r.bitrate_kbps:5.1f} kbps "
                f"{per_minute / 1e6:.3f} MB/min ({per_minute * 10 / 1e6:.2f} MB per 10 min) "
                f"{r.loudness_lufs:6.2f} LUFS  true peak {r.true_peak_dbfs:5.2f} dBTP"
            )


if __name__ == "__main__":
    main()
