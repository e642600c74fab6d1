"""Training: one loop (:func:`impasto.train.loop.fit`) for every trainable network, with
self-describing, atomic checkpoints and resume."""
