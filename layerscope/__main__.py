from layerscope.cli.main import run

run()
