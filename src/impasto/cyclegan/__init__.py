"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation, training and applying generators."""
