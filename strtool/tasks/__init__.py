"""Training tasks: one module per model family, all behind the `Task` contract of
`strtool.tasks.base`; `strtool.tasks.registry` maps a family to its task class. This
file imports nothing, so importing one task module never loads the others."""
