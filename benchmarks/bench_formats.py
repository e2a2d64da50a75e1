"""Benchmark: export and import images/s of every registered label format on the sample's 50 val masks,
against `export-coco` (``export_coco``, RLE, no original annotations) on the same folder in the same run.

Export: the mask folder -> the format (read, write, the guard's per-file check, the move into place).
Import: the export just written -> a new mask folder (read, checks, palette PNGs, report). COCO's import is
the mask job (``cocoseg masks``) with one worker. Formats whose codec module is not there yet are listed as
missing. The best of ``--repeat`` runs is kept.

    .venv/bin/python -m benchmarks.bench_formats [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cocoseg_gui.core.formats.coco_export import export_coco
from cocoseg_gui.core.formats.export_job import export_labels
from cocoseg_gui.core.formats.import_job import import_labels
from cocoseg_gui.core.formats.registry import FORMATS
from cocoseg_gui.core.masks.job import generate_masks
from cocoseg_gui.core.masks.options import MaskOptions

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample_coco"


def best(repeat: int, run: Callable[[int], object]) -> float:
    """The fastest of ``repeat`` runs, in seconds (``run(i)`` writes to a fresh place each time)."""
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    images = SAMPLE / "val2017"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        masks = tmp / "masks"
        generate_masks(
            SAMPLE / "annotations" / "instances_val2017.json", images, masks, MaskOptions(workers=1)
        )
        n = 50

        def baseline(i: int) -> object:
            return export_coco(masks, tmp / f"baseline-{i}.json", overwrite=True)

        base = best(args.repeat, baseline)
        rows: list[str | tuple[str, float, float]] = []
        for fmt in FORMATS:
            if not fmt.available:
                rows.append(f"{fmt.name:16} missing ({fmt.module} is not there yet)")
                continue
            out = [tmp / f"{fmt.name}-{i}{'.json' if fmt.dest == 'file' else ''}" for i in range(args.repeat)]
            back = [tmp / f"{fmt.name}-back-{i}" for i in range(args.repeat)]
            t_out = best(args.repeat, lambda i, f=fmt, o=out: export_labels(masks, f, o[i]))
            reader = fmt.read_as()  # cvat reads what cvat_polygons writes
            t_in = best(args.repeat, lambda i, f=reader, o=out, b=back: import_labels(f, o[0], b[i], images))
            rows.append((fmt.name, t_out, t_in))
        base = min(base, best(args.repeat, baseline))  # again after: a busy start counts less
        print(f"baseline export-coco (RLE, from the masks): {n / base:7.1f} images/s (best before/after)")
        header = ("format", "export img/s", "x export-coco", "import img/s", "x export-coco")
        print(f"{header[0]:16} {header[1]:>13} {header[2]:>14} {header[3]:>13} {header[4]:>14}")
        for row in rows:
            if isinstance(row, str):
                print(row)
                continue
            name, t_out, t_in = row
            print(f"{name:16} {n / t_out:13.1f} {base / t_out:14.2f} {n / t_in:13.1f} {base / t_in:14.2f}")


if __name__ == "__main__":
    main()
