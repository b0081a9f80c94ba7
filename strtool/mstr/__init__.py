"""mSTR: the two-stage multilingual recogniser (mCLIP -> prototype bank -> Spotter ->
Refiner). Models live in `strtool.models` and the training tasks in `strtool.tasks`
(`mclip`, `spotter`, `refiner`); this package holds losses, the bank, the Spotter
error simulator and decoding."""
