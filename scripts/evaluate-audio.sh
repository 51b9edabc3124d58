#!/usr/bin/env bash
# Issue 13.6: does Chromaprint (fpcalc) earn its place beside the video fingerprint? Measures
# how often an audio fingerprint still finds a registered track after the edits re-uploaders
# make (re-encoding, clipping, noise, music or a voice mixed over or under, telephone band,
# echo, camcorder, speed changes), how often it matches music that was never registered, and
# what it costs. 10 registered and 10 unregistered 60 s excerpts, 17 edit classes each.
#
#   scripts/evaluate-audio.sh [WORKDIR]     (default ${TMPDIR:-/tmp}/cartulary-audio)
#
# ~15-20 min on 2 cores from an empty work folder (JOBS=n sets ffmpeg/fpcalc parallelism), under
# a minute of it the matcher; ~425 MB of .debs and ~1.6 GB in all, none of it in the
# repository. Each step skips what an earlier run finished, so an interrupted run resumes and
# a finished one only re-measures the cost and re-runs the matcher. Writes WORKDIR/results.md
# and prints it.
#
# The audio is real music and speech shipped in Debian, fetched with `apt-get download` (no
# root needed): wesnoth-1.16-music, warzone2100-music, singularity-music, hyperrogue-music
# (orchestral, electronic, ambient) and fillets-ng-data (English dialogue); GPL-2+ or
# CC-BY-SA-3.0.
set -euo pipefail
export LC_ALL=C
J=${JOBS:-2}
REPO=$(realpath -- "$(dirname -- "${BASH_SOURCE[0]}")/..")
W=$(realpath -m -- "${1:-${TMPDIR:-/tmp}/cartulary-audio}")
case $W/ in
  "$REPO"/*) echo "evaluate-audio.sh: the work folder must be outside the repository ($REPO), not $W" >&2; exit 2 ;;
esac
for t in fpcalc ffmpeg ffprobe; do
  command -v "$t" >/dev/null || { echo "evaluate-audio.sh: $t not found: apt-get install libchromaprint-tools ffmpeg" >&2; exit 1; }
done
mkdir -p "$W"
cd "$W"

# ---------- 0. packages ----------
PKGS="wesnoth-1.16-music warzone2100-music singularity-music hyperrogue-music fillets-ng-data"
mkdir -p debs root
# apt-get download reads the local package lists: after a fresh install they may need `apt-get update` (as root) once.
( cd debs; for p in $PKGS; do ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p"; done )
for f in debs/*.deb; do
  # a stamp, not the extracted files, marks a finished extraction: dpkg-deb -x writes files one by one
  stamp=root/.x.$(basename "$f"); [ -e "$stamp" ] || { dpkg-deb -x "$f" root; touch "$stamp"; }
done
# package versions recorded because the excerpts (and so every number) depend on them
( for f in debs/*.deb; do dpkg-deb -f "$f" Package Version Installed-Size | paste -sd' '; done ) > packages.txt

R=root/usr/share
WES=$R/games/wesnoth/1.16/data/core/music
WZ=$R/games/warzone2100/music/albums
SG=$R/games/singularity/music
HR=$R/hyperrogue/music
FS=$R/games/fillets-ng/sound

# id|role|source|genre  (role: reg = registered work, neg = unregistered upload, ovl = voice-over only).
# The unregistered tracks come from the same albums as the registered ones, so the impostors
# include the hardest kind: same composer, same album.
cat > tracks.txt <<EOF
reg01|reg|$WES/battle-epic.ogg|orchestral
reg02|reg|$WES/elvish-theme.ogg|orchestral
reg03|reg|$WES/northerners.ogg|orchestral
reg04|reg|$WZ/original_soundtrack/track1.opus|electronic
reg05|reg|$WZ/legacy_soundtrack/track4.opus|electronic/cinematic
reg06|reg|$SG/Awakening.ogg|electronic/ambient
reg07|reg|$SG/Nebula.ogg|electronic/ambient
reg08|reg|$HR/hr3-desert.ogg|game/world
reg09|reg|$HR/hr-domina-hunting.ogg|game/orchestral
reg10|reg|speechA|speech
neg01|neg|$WES/knolls.ogg|orchestral
neg02|neg|$WES/heroes_rite.ogg|orchestral
neg03|neg|$WZ/aftermath_soundtrack/track17.opus|electronic/cinematic
neg04|neg|$WZ/legacy_soundtrack/track9.opus|electronic/cinematic
neg05|neg|$SG/Coherence.ogg|electronic/ambient
neg06|neg|$SG/Through Space.ogg|electronic/ambient
neg07|neg|$HR/hr3-jungle.ogg|game/world
neg08|neg|$HR/hr-domina-mountain.ogg|game/orchestral
neg09|neg|$R/games/fillets-ng/music/rybky04.ogg|game/pop
neg10|neg|speechB|speech
vo01|ovl|speechC|speech
EOF

# ---------- 1. masters: 60 s excerpts, 44.1 kHz stereo, RMS normalised to -20 dBFS ----------
# One loudness for all, so "-6 dB under" and "10 dB SNR" mean the same for every track.
mkdir -p src master edits fp
# Speech has no 60 s track: three montages of consecutive Fish Fillets NG English lines
# (192 lines, ~380 s), disjoint so the registered speech, the unregistered one and the voice-over differ.
if [ ! -e src/speechC.wav ]; then
  find "$FS" -path '*/en/*.ogg' | sort > src/speech_lines.txt
  for m in A B C; do : > "src/speech$m.lst"; done
  acc=0; m=A
  while read -r f; do
    d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
    echo "file '$W/$f'" >> "src/speech$m.lst"
    acc=$(awk -v a="$acc" -v d="$d" 'BEGIN{print a+d}')
    if awk -v a="$acc" 'BEGIN{exit !(a>=62)}'; then
      case $m in A) m=B;; B) m=C;; C) break;; esac; acc=0
    fi
  done < src/speech_lines.txt
  for m in A B C; do
    ffmpeg -nostdin -v error -y -f concat -safe 0 -i "src/speech$m.lst" -ar 44100 -ac 2 "src/speech$m.wav"
  done
fi
rms_gain() { # prints gain (dB) to bring file to $2 dBFS mean
  local mv; mv=$(ffmpeg -nostdin -i "$1" -af volumedetect -f null - 2>&1 | awk '/mean_volume/{print $5}')
  awk -v m="$mv" -v t="$2" 'BEGIN{printf "%.2f", t-m}'
}
# The middle minute, away from intros and fade-outs, which are quiet or sparse.
# Appended (-a): a resumed run skips the masters an earlier run made, and would otherwise empty their lines.
while IFS='|' read -r id role src genre; do
  out=master/$id.wav; [ -e "$out" ] && continue
  case $src in speech?) src=src/$src.wav;; esac
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src")
  ss=$(awk -v d="$dur" 'BEGIN{s=(d-60)/2; if(s<0)s=0; printf "%.2f", s}')
  ffmpeg -nostdin -v error -y -ss "$ss" -t 60 -i "$src" -ar 44100 -ac 2 "master/tmp_$id.wav"
  g=$(rms_gain "master/tmp_$id.wav" -20)
  ffmpeg -nostdin -v error -y -i "master/tmp_$id.wav" -af "volume=${g}dB" -c:a pcm_s16le "$out"
  rm "master/tmp_$id.wav"
  echo "$id $role $genre start=${ss}s gain=${g}dB $src"
done < tracks.txt | tee -a master/excerpts.txt

# noise beds at -20 dBFS RMS (added with volume=-10dB -> 10 dB SNR, or -15dB -> 15 dB SNR);
# a fixed seed so every run adds the same noise
for c in white pink; do
  [ -e "master/noise_$c.wav" ] && continue
  ffmpeg -nostdin -v error -y -f lavfi -i "anoisesrc=color=$c:sample_rate=44100:amplitude=0.5:seed=7:duration=60" -ac 2 master/tmpn.wav
  g=$(rms_gain master/tmpn.wav -20)
  ffmpeg -nostdin -v error -y -i master/tmpn.wav -af "volume=${g}dB" "master/noise_$c.wav"; rm master/tmpn.wav
done

# ---------- 2. edits ----------
# overlay partner: for the i-th reg/neg track the (i mod 9)+1-th negative music track (never
# itself, never the speech neg10), so mixed-in music is always unregistered and always music
ids=$(awk -F'|' '$2!="ovl"{print $1}' tracks.txt)
: > edits.jobs
for id in $ids; do
  n=$((10#${id:3:2})); o=$(( n % 9 + 1 )); ov=$(printf 'neg%02d' $o)
  [ "$ov" = "$id" ] && ov=$(printf 'neg%02d' $(( o % 9 + 1 )))
  M=master/$id.wav; E=edits/$id
  cat >> edits.jobs <<EOF
ffmpeg -nostdin -v error -y -i $M -c:a pcm_s16le ${E}__orig.wav
ffmpeg -nostdin -v error -y -i $M -c:a aac -b:a 64k ${E}__aac64.m4a
ffmpeg -nostdin -v error -y -i $M -ac 1 -ar 22050 -c:a libmp3lame -b:a 96k ${E}__mp3_96_mono22k.mp3
ffmpeg -nostdin -v error -y -ss 25 -t 10 -i $M -c:a aac -b:a 128k ${E}__clip10s_mid.m4a
ffmpeg -nostdin -v error -y -i $M -af volume=-12dB -c:a aac -b:a 128k ${E}__vol-12dB.m4a
ffmpeg -nostdin -v error -y -i $M -i master/noise_white.wav -filter_complex "[1]volume=-10dB[n];[0][n]amix=inputs=2:weights=1 1:normalize=0" -c:a aac -b:a 128k ${E}__whitenoise_10dB.m4a
ffmpeg -nostdin -v error -y -i $M -i master/noise_pink.wav -filter_complex "[1]volume=-10dB[n];[0][n]amix=inputs=2:weights=1 1:normalize=0" -c:a aac -b:a 128k ${E}__pinknoise_10dB.m4a
ffmpeg -nostdin -v error -y -i $M -i master/$ov.wav -filter_complex "[0]volume=-6dB[a];[a][1]amix=inputs=2:weights=1 1:normalize=0" -c:a aac -b:a 128k ${E}__under_music_-6dB.m4a
ffmpeg -nostdin -v error -y -i $M -i master/vo01.wav -filter_complex "[0]volume=-6dB[a];[a][1]amix=inputs=2:weights=1 1:normalize=0" -c:a aac -b:a 128k ${E}__under_voice_-6dB.m4a
ffmpeg -nostdin -v error -y -i $M -i master/$ov.wav -filter_complex "[1]volume=-6dB[b];[0][b]amix=inputs=2:weights=1 1:normalize=0" -c:a aac -b:a 128k ${E}__plus_music_at_-6dB.m4a
ffmpeg -nostdin -v error -y -i $M -i master/vo01.wav -filter_complex "[1]volume=-6dB[b];[0][b]amix=inputs=2:weights=1 1:normalize=0" -c:a aac -b:a 128k ${E}__plus_voice_at_-6dB.m4a
ffmpeg -nostdin -v error -y -i $M -af "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400" -ac 1 -ar 8000 -c:a pcm_s16le ${E}__telephone.wav
ffmpeg -nostdin -v error -y -i $M -af "aecho=0.8:0.85:35|70|120:0.45|0.3|0.2" -c:a aac -b:a 128k ${E}__room_echo.m4a
ffmpeg -nostdin -v error -y -i $M -af atempo=1.25 -c:a aac -b:a 128k ${E}__speed1.25_pitchkept.m4a
ffmpeg -nostdin -v error -y -i $M -af "asetrate=55125,aresample=44100" -c:a aac -b:a 128k ${E}__speed1.25_pitchshift.m4a
ffmpeg -nostdin -v error -y -i $M -af "asetrate=46305,aresample=44100" -c:a aac -b:a 128k ${E}__speed1.05_pitchshift.m4a
ffmpeg -nostdin -v error -y -i $M -i master/noise_pink.wav -filter_complex "[0]highpass=f=200,lowpass=f=5000,aecho=0.8:0.7:25|55:0.35|0.2[a];[1]volume=-15dB[n];[a][n]amix=inputs=2:weights=1 1:normalize=0,acompressor" -ac 1 -c:a aac -b:a 96k ${E}__camcorder.m4a
EOF
done
# run only jobs whose output is missing (the output is each line's last word)
awk '{print $NF"\t"$0}' edits.jobs | while IFS=$'\t' read -r o cmd; do [ -s "$o" ] || echo "$cmd"; done > edits.todo
xargs -P "$J" -I{} -d '\n' sh -c '{}' < edits.todo

# ---------- 3. fingerprints (fpcalc defaults: -algorithm 2, -length 120, -rate 11025 mono internal) ----------
ls edits/*.* > fp/list.txt
# fpcalc 1.5.1 exits 3 with "Error decoding audio frame (End of file)" on m4a/mp3 at EOF, though
# its output is complete; so success is judged by the JSON holding a fingerprint, not by the exit status
# shellcheck disable=SC2016 # $b is the inner sh's
xargs -P "$J" -I{} sh -c 'b=$(basename "{}"); b=${b%.*}; [ -s fp/$b.json ] || { fpcalc -raw -json "{}" > fp/$b.json 2>/dev/null; grep -q fingerprint fp/$b.json || echo "fpcalc failed: {}" >&2; }; true' < fp/list.txt
for id in $ids; do [ -s "fp/ref_$id.json" ] || fpcalc -raw -json "master/$id.wav" > "fp/ref_$id.json" 2>/dev/null || true; done

# ---------- 3b. speed-correction scan for pitch-shifting speed changes ----------
# A speed change that shifts the pitch cannot be undone on the fingerprint, only on the audio:
# re-sample the upload by a grid of correction factors (slower + lower) and fingerprint again.
# 1.25 and 1.05 are NOT on the grid, as a real upload's factor would not be; orig is scanned
# too, to see the false positives the extra tries let in.
mkdir -p scan
GRID="1.03 1.06 1.09 1.12 1.15 1.18 1.21 1.24 1.27 1.30"
for f in edits/*__speed1.25_pitchshift.m4a edits/*__speed1.05_pitchshift.m4a edits/*__orig.wav; do
  b=$(basename "$f"); b=${b%.*}
  for c in $GRID; do
    o=scan/${b}__c$c; [ -s "fp/scan_${b}__c$c.json" ] && continue
    r=$(awk -v c="$c" 'BEGIN{printf "%d", 44100/c}')
    # the resampled WAV is deleted at once: 30 uploads x 10 factors of it would be ~1.5 GB more
    echo "ffmpeg -nostdin -v error -y -i $f -af asetrate=$r,aresample=44100 -ac 1 $o.wav && { fpcalc -raw -json $o.wav > fp/scan_${b}__c$c.json 2>/dev/null; rm -f $o.wav; true; }"
  done
done > scan.todo
xargs -P "$J" -I{} -d '\n' sh -c '{}' < scan.todo

# ---------- 4. cost ----------
# Sequential on one core, and decoding timed apart, so the figure is what one upload costs a server.
{
  echo "fpcalc version: $(fpcalc -version)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"
  t0=$(date +%s.%N)
  for id in $ids; do fpcalc -raw "master/$id.wav" >/dev/null 2>&1 || true; done
  t1=$(date +%s.%N)
  for id in $ids; do fpcalc -raw "edits/${id}__aac64.m4a" >/dev/null 2>&1 || true; done
  t2=$(date +%s.%N)
  for id in $ids; do ffmpeg -nostdin -v error -i "edits/${id}__aac64.m4a" -ac 1 -ar 11025 -f s16le - >/dev/null; done
  t3=$(date +%s.%N)
  for id in $ids; do { fpcalc "master/$id.wav" 2>/dev/null || true; } | sed -n 's/^FINGERPRINT=//p' | tr -d '\n' | wc -c; done > fp/b64len.txt
  n=$(echo "$ids" | wc -w)
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$n" 'BEGIN{
    printf "fpcalc on 60 s WAV (decode+fingerprint): %.3f s per file (n=%d, sequential, 1 core)\n",(b-a)/n,n;
    printf "fpcalc on 60 s AAC m4a (decode+fingerprint): %.3f s per file\n",(c-b)/n;
    printf "ffmpeg decode+resample 60 s AAC -> 11025 Hz mono s16 alone: %.3f s per file\n",(d-c)/n }'
  awk '{s+=$1}END{printf "compressed fingerprint (fpcalc default base64 string): %.1f chars per 60 s = %.1f B/s\n", s/NR, s/NR/60}' fp/b64len.txt
} | tee cost.txt

# ---------- 5. match + table ----------
# from the repository, so npx finds its pinned tsx instead of fetching one; through a
# temporary file, so a failed matcher leaves the last results.md in place
( cd "$REPO" && npx tsx scripts/audio-match.ts "$W/fp" ) > results.md.new
mv results.md.new results.md
cat results.md
