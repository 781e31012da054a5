# navctl for GPU runners: an NVIDIA CUDA + PyTorch base with every navctl extra.
# Build: docker build -t navctl .   Run: docker run --gpus all -v "$PWD:/work" -w /work navctl optimize recipe.yaml
FROM nvcr.io/nvidia/pytorch:25.01-py3

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /opt/navctl
COPY pyproject.toml README.md LICENSE ./
COPY navctl ./navctl
# The base image already has torch (CUDA) and TensorRT; pip keeps them since the extras take ranges.
RUN pip install ".[all]" && navctl --version

WORKDIR /work
ENTRYPOINT ["navctl"]
CMD ["--help"]
