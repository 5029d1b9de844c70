"""Console entry points (``srgan-upscale``, ``srgan-train``, ``srgan-eval``)."""
