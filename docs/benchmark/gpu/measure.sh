#!/usr/bin/env bash
# The GPU measurements of docs/benchmark/gpu/ and docs/results/gpu/, one after another, in about 9 minutes:
#
#   bash docs/benchmark/gpu/measure.sh /path/to/cuhk OUTPUT
#   bash docs/benchmark/gpu/measure.sh synthetic OUTPUT      # the built-in synthetic pairs instead (a trial run)
#
# 1. benchmark   face2sketch.benchmark at the study's sizes (trainer_preset=gpu image_size=null): every model's
#                training through face2sketch against the bare loop (ratio, and the difference in ms per step)
# 2. cudagraphs  pix2pix at batch 1 with CUDA graphs (compile=true compile_mode=reduce-overhead), through face2sketch
#                against the bare loop given the same compiled networks
# 3. paper_gpu   experiment=paper_gpu alone: 16 jobs at once, each with the cores divided by 16 as its CPU threads;
#                its wall time, each job's, and the report (every metric evaluate writes, at model resolution)
#
# OUTPUT/records/ then holds at most 8 small files: log.txt, benchmark.{json,md}, cudagraphs.{json,md},
# paper_gpu.json (wall time and each job's record) and paper_gpu_report.tar.gz (report.md, results.csv, figures);
# the sweep's run folders stay in OUTPUT/paper_gpu/. Each part has a time limit, so the whole ends within 10 minutes.
#
# Needs: pip install -e ".[joblib,onnx]"; CUHK at the path given. The VGG-16 encoder is random (for_model.vgg_ae.weights=none)
# unless ENCODER_WEIGHTS names the weights (imagenet_features: vgg16_features-amdegroot-88682ab5.pth in
# $TORCH_HOME/hub/checkpoints). Settings from the environment:
#   PARTS="benchmark cudagraphs paper_gpu"   the parts to run, in this order
#   BENCHMARK_SECONDS=120 CUDAGRAPHS_SECONDS=150 PAPER_GPU_SECONDS=310   their time limits
#   BENCHMARK_OVERRIDES, CUDAGRAPHS_OVERRIDES, PAPER_GPU_OVERRIDES   extra overrides for each part's command
#   PYTHON=python3
set -uo pipefail

data_root=${1:?usage: measure.sh /path/to/cuhk OUTPUT}
output=${2:?usage: measure.sh /path/to/cuhk OUTPUT}
mkdir -p "$output/records" && output=$(cd "$output" && pwd)
cd "$(dirname "$0")/../../.." || exit 1
records=$output/records
log=$records/log.txt
python=${PYTHON:-python3}
export NO_ALBUMENTATIONS_UPDATE=1 PYTHONUNBUFFERED=1
if [ "$data_root" = synthetic ]; then
    benchmark_data=(dataset=synthetic) train_data=(data=synthetic)
else
    benchmark_data=("data_root=$data_root") train_data=("data.root=$data_root")
fi
read -r -a benchmark_overrides <<<"${BENCHMARK_OVERRIDES:-}"
read -r -a cudagraphs_overrides <<<"${CUDAGRAPHS_OVERRIDES:-}"
read -r -a paper_gpu_overrides <<<"${PAPER_GPU_OVERRIDES:-}"

say() { echo "=== $(date +%H:%M:%S) $*" | tee -a "$log"; }

# runs a part's command under its time limit, its output in the log; says how it ended
part() {
    local name=$1 seconds=$2
    shift 2
    say "$name: $* (limit ${seconds} s)"
    local started=$SECONDS
    timeout --kill-after=15 "$seconds" "$@" 2>&1 | tee -a "$log"
    local status=${PIPESTATUS[0]}
    say "$name: exit status $status after $((SECONDS - started)) s"
    return "$status"
}

say "machine"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
    echo "cores: $(nproc)"
    "$python" -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__, 'cuda', torch.cuda.is_available())"
    git log -1 --format='commit %H' 2>/dev/null || true
} 2>&1 | tee -a "$log"

for name in ${PARTS:-benchmark cudagraphs paper_gpu}; do
    case $name in
    benchmark)
        part benchmark "${BENCHMARK_SECONDS:-120}" "$python" -m face2sketch.benchmark "${benchmark_data[@]}" trainer_preset=gpu image_size=null \
            steps=40 warmup=5 rounds=2 latency_repeats=5 data_batches=10 onnx=false output="$output/benchmark" "${benchmark_overrides[@]}"
        cp "$output"/benchmark/benchmark.{json,md} "$records/" 2>/dev/null
        ;;
    cudagraphs)
        part cudagraphs "${CUDAGRAPHS_SECONDS:-150}" "$python" -m face2sketch.benchmark "${benchmark_data[@]}" trainer_preset=gpu image_size=null \
            "models=[pix2pix]" precision=32-true "overrides=['compile=true','compile_mode=reduce-overhead']" steps=60 warmup=15 rounds=2 latency_repeats=3 \
            data_batches=10 onnx=false output="$output/cudagraphs" "${cudagraphs_overrides[@]}"
        for suffix in json md; do cp "$output/cudagraphs/benchmark.$suffix" "$records/cudagraphs.$suffix" 2>/dev/null; done
        ;;
    paper_gpu)
        rm -rf "$output/paper_gpu"
        started=$(date +%s.%N)
        part paper_gpu "${PAPER_GPU_SECONDS:-310}" "$python" -m face2sketch.train -m experiment=paper_gpu "${train_data[@]}" \
            ++for_model.vgg_ae.weights="${ENCODER_WEIGHTS:-none}" hydra.sweep.dir="$output/paper_gpu" "${paper_gpu_overrides[@]}"
        status=$?
        ended=$(date +%s.%N)
        "$python" - "$output/paper_gpu" "$started" "$ended" "$status" >"$records/paper_gpu.json" <<'EOF'
"""paper_gpu's record: the sweep's wall time from the command's start to its end (the report included) and each job's."""
import json
import sys
from pathlib import Path

sweep, started, ended, status = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
jobs = []
for metrics in sorted(sweep.glob("*/metrics.json")):
    run = json.loads(metrics.read_text())
    keys = ("status", "model", "direction", "protocol", "wall_seconds", "fit_seconds", "cpu_threads", "epochs", "global_step", "test_metrics")
    jobs.append({"job": metrics.parent.name, **{key: run.get(key) for key in keys}})
record = {"command_exit_status": status, "wall_seconds": round(ended - started, 1), "jobs": jobs}
print(json.dumps(record, indent=2))
EOF
        if [ -d "$output/paper_gpu/report" ]; then
            tar -czf "$records/paper_gpu_report.tar.gz" -C "$output/paper_gpu" report
        fi
        ;;
    *) say "unknown part '$name': use benchmark, cudagraphs or paper_gpu" ;;
    esac
done
say "done: $(ls "$records" | tr '\n' ' ')"
