"""mSTR: the two-stage multilingual recogniser (mCLIP -> prototype bank -> Spotter ->
Refiner). Models live in `strtool.models`; this package holds losses, the bank, the
Spotter error simulator, decoding and the training tasks."""
