"""`strtool demo`: synthesise, train, evaluate and report, end to end on a CPU.

`run_demo(output, settings, on_event)`:

1. builds a closed vocabulary in seven scripts (`strtool.demo.data`: the 100 most
   frequent 2-6 code-point words of en, ar, hi, bn, zh, ja, ko) and renders it with the
   synth library into `data/train.lmdb`, `data/val.lmdb` (same words, new renderings)
   and `data/unseen.lmdb` (other words made of the same characters);
2. trains the `tiny` preset (a grey 32x128 CRNN) with the engine for `minutes`: the
   number of steps comes from a short speed measurement of this machine, so the
   one-cycle schedule completes in time (a guard stops at 1.5x the budget);
3. evaluates the best checkpoint per language on `val` and `unseen`, and predicts
   exported sample images through the `predict` path;
4. writes `report/`: `metrics.json`, `predictions.tsv`, `contact_sheet.png`,
   `curves.png`, `config.yaml`, `model.pt` (slim checkpoint), `samples/` (+ tsv).

Re-running with the same `output` reuses finished LMDBs and resumes training from
`run/last.pt` (a finished run is not trained again).
"""

from strtool.demo.run import run_demo
from strtool.demo.settings import DemoResult, DemoSettings, TimeUp

__all__ = ["DemoResult", "DemoSettings", "TimeUp", "run_demo"]
