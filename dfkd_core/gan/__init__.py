"""HiDFD: a teacher-guided class-conditional GAN trained from a few real images."""
