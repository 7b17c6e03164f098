"""Runs: plan -> infer (journal, resume, shards, executors) -> predictions -> score -> report."""
