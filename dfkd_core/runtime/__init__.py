"""What every part runs on: devices, processes under torchrun / accelerate (distributed.py),
mixed precision, the hub's offline flags, frozen models, and jobs streamed to a UI."""
