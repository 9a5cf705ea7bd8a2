#!/usr/bin/env bash
# `make traces`: not built yet.
echo "traces: not built yet"
