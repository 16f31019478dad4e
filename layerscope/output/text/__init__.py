"""The commands' text output: one module per command's output, each a function from a
result to the lines the CLI writes (the CLI escapes control characters as it writes them)."""
