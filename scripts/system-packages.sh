#!/usr/bin/env bash
# Install the system programs a target needs when they are missing: `run` wants tesseract (OCR),
# redis-server (for REDIS_URL) and node with npm (to build the web app), all optional there, so their
# absence only warns; `test` requires them all, nginx (the documented reverse proxy is tested in front
# of the server) and chromium (the web app is tested end to end in a real browser).
set -euo pipefail

target=${1:-run}
declare -A package_of=(
  [tesseract]="tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu"
  [redis-server]="redis-server"
  [nginx]="nginx"
  [node]="nodejs npm"
  [npm]="nodejs npm"
  [chromium]="chromium"
  [fonts]="fonts-dejavu-core fonts-liberation fonts-freefont-ttf"
)
case "$target" in
  run) needed=(tesseract redis-server node npm) required=() ;;
  test)
    needed=(tesseract redis-server nginx node npm chromium)
    required=(tesseract redis-server nginx node npm chromium)
    ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for program in "${needed[@]}"; do
  # nginx lives in /usr/sbin, which an unprivileged PATH may lack.
  command -v "$program" >/dev/null 2>&1 || [ -x "/usr/sbin/$program" ] || missing+=("$program")
done
# The German language data is needed by OCR tests even where tesseract itself is present.
if command -v tesseract >/dev/null 2>&1 && ! tesseract --list-langs 2>/dev/null | grep -qx deu; then
  missing+=(tesseract)
fi
# The synthetic receipt corpus prints with these fonts (it falls back to Pillow's own without them).
if [ "$target" = test ] && [ ! -e /usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf ]; then
  missing+=(fonts)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(for program in "${missing[@]}"; do echo "${package_of[$program]}"; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: $packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
  exit 0
fi

echo "apt-get is not available here; please install these with your package manager: $packages" >&2
for program in "${required[@]}"; do
  if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ]; then
    echo "error: '$program' is required for '$target'" >&2
    exit 1
  fi
done
echo "warning: continuing without: ${missing[*]} (without tesseract OCR endpoints answer 503; without npm the web app is not built and the API is served alone)" >&2
