from navctl.cli.main import run

run()
