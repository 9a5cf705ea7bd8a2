#!/usr/bin/env bash
# `make ppa`: not built yet.
echo "ppa: not built yet"
