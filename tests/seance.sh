#!/usr/bin/env bash
# Une séance de groupe de parole, de bout en bout, avec le client en ligne de commande `cercle` et
# un vrai serveur : Camille (pair, animatrice) crée le groupe et sa charte, Sam et Lou le
# rejoignent, Noa demande à entrer une fois le groupe ouvert aux pairs ; Dr Martin, professionnelle,
# est invitée pour accompagner Sam : tout le groupe le voit, elle accepte la charte et entre, marquée
# comme professionnelle partout ; Lou est mise en sourdine (ses messages sont refusés), puis retirée.
#
# usage: seance.sh CERCLE-SERVER CERCLE CERCLE-ADMIN
# Every command has a time limit; the script fails at the first step that does not hold.
set -euo pipefail

server_bin=$1 cli_bin=$2 admin_bin=$3
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'ÉCHEC : %s\n' "$*" >&2; exit 1; }

# --- The server, on a free port.
"$server_bin" --listen 127.0.0.1:0 --data "$work/data" --registration open --log-level warn \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.out" | head -n 1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n ${port:-} ]] || fail "le serveur n'a pas démarré: $(cat "$work/server.err")"

# `as NAME ARGS...`: runs the CLI as NAME (own local store and passphrase), 30 s at most.
as() {
  local who=$1
  shift
  CERCLE_PASSPHRASE="phrase de $who" timeout 30 "$cli_bin" --server "ws://127.0.0.1:$port/ws" \
    --data "$work/$who" "$@"
}
# `expect_in TEXT CONTEXT`: stdin must contain TEXT.
expect_in() {
  local out
  out=$(cat)
  grep -qF -- "$1" <<<"$out" || fail "$2 : « $1 » attendu, reçu :
$out"
  printf '%s\n' "$out"
}

step "Chacun crée son compte"
for who in camille sam lou noa dr_martin; do as "$who" register "$who"; done
timeout 30 "$admin_bin" --data "$work/data" account set-type dr_martin professional

step "Camille crée le groupe et sa charte"
conv=$(as camille group create)
charte="Bienveillance, confidentialité, pas de conseil médical."
as camille group policy "$conv" --charter "$charte" --retention 30
as camille group policy "$conv" | expect_in "animation : camille" "les règles"

step "Sam et Lou entrent"
as camille group add "$conv" sam
as camille group add "$conv" lou
as sam conversations | expect_in "$conv groupe" "Sam voit le groupe"

step "Le groupe s'ouvre aux pairs ; Noa demande à entrer et un membre l'ajoute"
as camille group policy "$conv" --open yes
as noa group open | expect_in "$conv" "Noa voit le groupe ouvert"
as dr_martin group open | { ! grep -qF "$conv"; } || fail "une professionnelle voit un groupe ouvert aux pairs"
as noa group join "$conv"
as dr_martin group join "$conv" 2>/dev/null && fail "une professionnelle est entrée sans invitation"
as camille listen --timeout 2 >/dev/null
as noa group members "$conv" | expect_in "noa (vous)" "Noa est dans le groupe"

step "Camille invite Dr Martin pour accompagner Sam : tout le groupe le voit"
invitation=$(as camille group invite "$conv" dr_martin --accompanying sam)
as lou listen --timeout 2 | expect_in "camille a invité le ou la professionnel·le dr_martin, pour accompagner sam" "Lou voit l'invitation"
as dr_martin group invitations | expect_in "$charte" "Dr Martin lit la charte"

step "Dr Martin accepte la charte ; le client de Camille l'ajoute"
as dr_martin group accept "$invitation"
as camille listen --timeout 3 >/dev/null
for who in camille sam lou noa dr_martin; do
  as "$who" group members "$conv" | expect_in "dr_martin (professionnel·le, accompagne sam)" "$who voit Dr Martin marquée"
done
as dr_martin send "$conv" "Bonjour à toutes et à tous, je suis là pour Sam."
as sam listen --count 1 --timeout 10 | expect_in "dr_martin (professionnel·le): Bonjour" "Sam lit Dr Martin, marquée"

step "La parole circule"
as sam send "$conv" "Merci d'être là."
as lou send "$conv" "Je voudrais parler de ma semaine."
as noa history "$conv" | expect_in "lou: Je voudrais parler de ma semaine." "Noa lit Lou"

step "Lou est mise en sourdine : ses messages sont refusés"
as camille group mute "$conv" lou
status=0
as lou send "$conv" "Encore un mot" 2>"$work/lou.err" || status=$?
[[ $status -eq 5 ]] || fail "Lou en sourdine a pu écrire (code $status)"
cat "$work/lou.err"

step "Lou est retirée du groupe"
as camille group remove "$conv" lou
as lou conversations | expect_in "(quittée)" "Lou n'est plus dans le groupe"
as sam group members "$conv" | { ! grep -q "^lou"; } || fail "Sam voit encore Lou"
as dr_martin group members "$conv" | expect_in "camille (animation)" "Dr Martin voit l'animatrice"

step "Fin de séance : tout le monde voit les mêmes membres"
# Each viewer marks itself and whom it verified: the members themselves must be the same.
same_view() { sed -e 's/ (vous)//' -e 's/ — pas vérifié·e$//' -e 's/ — vérifié·e$//' | sort; }
expected=$(as camille group members "$conv" | same_view)
for who in sam noa dr_martin; do
  got=$(as "$who" group members "$conv" | same_view)
  [[ $got == "$expected" ]] || fail "$who voit d'autres membres :
$got
au lieu de :
$expected"
done
printf '\nSéance terminée : %s\n' "$(tr '\n' ' ' <<<"$expected")"
