#!/usr/bin/env bash
# On the GPU machine, in the repository's root, after carry.sh here: installs what .gpu_carry/ holds, checks that the
# commands import, then runs measure.sh on the carried CUHK copy, its records under OUTPUT:
#
#   bash docs/benchmark/gpu/on_device.sh "$OUT"                         # the device tool's run, with carry: [".gpu_carry"]
#   PARTS=paper_gpu bash docs/benchmark/gpu/on_device.sh "$OUT"         # measure.sh's settings pass through
#   SKIP_INSTALL=1 PYTHON=.venv/bin/python bash docs/benchmark/gpu/on_device.sh OUT   # a trial here, nothing installed
#
# Stops at the first step that fails, saying which, before any GPU time goes to a run that cannot finish.
set -uo pipefail

output=${1:?usage: on_device.sh OUTPUT}
mkdir -p "$output" && output=$(cd "$output" && pwd)
cd "$(dirname "$0")/../../.." || exit 1
python=${PYTHON:-python3}
[ -d .gpu_carry/wheels ] && [ -d .gpu_carry/cuhk ] || { echo "on_device.sh: .gpu_carry/ is missing: run carry.sh here and pass carry: [\".gpu_carry\"]" >&2; exit 2; }
if [ -z "${SKIP_INSTALL:-}" ]; then
    "$python" -m pip install --quiet --no-index --no-deps .gpu_carry/wheels/*.whl || { echo "on_device.sh: installing the carried wheels failed" >&2; exit 3; }
    "$python" -m pip install --quiet --no-index --no-deps --no-build-isolation -e . || { echo "on_device.sh: installing face2sketch failed" >&2; exit 3; }
fi
# the machine's own versions of what face2sketch needs (the installs above check none) go beside measure.sh's records
mkdir -p "$output/records"
"$python" -c "import numpy, cv2, skimage, onnxruntime, torchmetrics; print('numpy', numpy.__version__, 'opencv', cv2.__version__, 'scikit-image', skimage.__version__, 'onnxruntime', onnxruntime.__version__, 'torchmetrics', torchmetrics.__version__)" \
    | tee "$output/records/versions.txt"
"$python" -c "import face2sketch.train, face2sketch.benchmark, face2sketch.report, hydra_plugins.hydra_joblib_launcher" \
    || { echo "on_device.sh: face2sketch's commands do not import" >&2; exit 4; }
PYTHON=$python bash docs/benchmark/gpu/measure.sh "$PWD/.gpu_carry/cuhk" "$output"
