"""HiDFD: a teacher-guided class-conditional GAN trained from a few real images. config.py:
settings; collect.py: the collected images; models.py, losses.py, augment.py, bank.py,
smoothing.py, train.py: the GAN and its training (feature integration, category frequency
smoothing); sample.py, source.py: its samples; quality.py: how close they are to real data;
job.py: the whole method as one job for a UI; stage.py: the pipeline stage `hidfd`.
Data inflation (the real images repeated) is distill's `real_repeat`."""
