#!/bin/sh
# entry point of the sample worker (the image has no shell of its own: documentation only)
exec python3 -m worker --config /etc/app/config.toml
