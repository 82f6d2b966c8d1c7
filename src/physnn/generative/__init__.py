"""Unsupervised and generative models on the one engine: autoencoders, variational autoencoders, GANs and
anomaly detection on time series.

Each is a ``physnn.Module`` built from any physnn encoder and decoder models, so it trains with the one fit
loop and the one compiled epoch (the VAE's KL term enters through ``add_loss``); a loss term's weight may follow
a schedule of the training steps (``LinearAnnealing``, ``CyclicalAnnealing``).
"""

from physnn.generative.annealing import CyclicalAnnealing, LinearAnnealing
from physnn.generative.anomaly import AnomalyDetector, Detection
from physnn.generative.autoencoder import Autoencoder
from physnn.generative.gan import GAN, gan_optimizer
from physnn.generative.vae import VAE

__all__ = ["GAN", "VAE", "AnomalyDetector", "Autoencoder", "CyclicalAnnealing", "Detection", "LinearAnnealing",
           "gan_optimizer"]
