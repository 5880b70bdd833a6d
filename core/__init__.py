"""The shared vocabulary every layer stands on: posts, queries, verdicts, durations, HTTP etiquette."""
