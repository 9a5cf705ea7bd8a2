#!/usr/bin/env bash
# `make dataset`: not built yet.
echo "dataset: not built yet"
