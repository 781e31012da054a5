"""The engine: runs a plan's steps as subprocesses inside a locked workspace, recording status."""
