// The SIP doctor's words in English, French and German: one sentence per finding and level,
// and what to do when it is not "ok". {name} is replaced by the finding's fact of that name.
import type { DoctorFinding, DoctorReport, Facts, FindingLevel } from "./doctor";

export type DoctorLanguage = "en" | "fr" | "de";
export const DOCTOR_LANGUAGES: readonly DoctorLanguage[] = ["en", "fr", "de"];

/** "de-DE", "fr", "en-US"… to a language the doctor speaks (English otherwise). */
export function doctorLanguage(tag: unknown): DoctorLanguage {
  const l = (typeof tag === "string" ? tag : "").slice(0, 2).toLowerCase();
  return (DOCTOR_LANGUAGES as readonly string[]).includes(l) ? (l as DoctorLanguage) : "en";
}

type Entry = [text: string, fix?: string];
type Table = Record<string, Entry>;

const EN: Table = {
  "dns.ok.literal": ["The server {name} is an IP address: no DNS needed."],
  "dns.ok.srv": ["{srv} points to {target}:{targetPort} ({addresses})."],
  "dns.ok": ["{name} resolves to {addresses}."],
  "dns.fail": ["{name} cannot be resolved.", "Check the server name, or enter its IP address; check the DNS settings of the Node-RED machine."],
  "transport.ok": ["The server answers over {transport} at {address}:{port} in {rttMs} ms (status {status})."],
  "transport.fail": [
    "No answer over {transport} from {address}:{port} ({error}).",
    "Check Server, Port and Transport; a firewall may block the port, or the server uses another transport (see below).",
  ],
  "transport.info": ["The transport {transport} (WebSocket) is not tested by the doctor."],
  "other-transports.info": ["Other transports: answered: {answered}; no answer: {silent}."],
  "nat.ok": ["No NAT between Node-RED and the server: it sees us as {seen}."],
  "nat.warn.portOnly": [
    "The server sees another port ({seen} instead of {local}): a router or firewall changes ports.",
    "Keep Keep-alive on. On an Asterisk PBX set rewrite_contact=yes, force_rport=yes and rtp_symmetric=yes for this extension.",
  ],
  "nat.warn": [
    "NAT between Node-RED ({local}) and the server, which sees us as {seen}.",
    "Keep Keep-alive on. On an Asterisk PBX set rewrite_contact=yes, force_rport=yes and rtp_symmetric=yes for this extension; or run Node-RED in the PBX's network.",
  ],
  "nat.info": ["The server did not say from which address it sees us (no received/rport)."],
  "sdp-address.ok": ["Audio is offered on {sdp}."],
  "sdp-address.warn": [
    "The audio address in our SDP ({sdp}) is private, but the server sees us as {seen}: the other side may send audio where it cannot arrive (one-way audio).",
    "Let the PBX send audio back to where it comes from (Asterisk: rtp_symmetric=yes, direct_media=no), or set Local IP.",
  ],
  "keepalive.ok": ["Keep-alive every {seconds} s keeps the NAT open."],
  "keepalive.warn": [
    "Keep-alive is {seconds} s behind a NAT: incoming calls may stop arriving after a few minutes.",
    "Set Keep-alive between 15 and {limit} s (0 switches it off).",
  ],
  "keepalive.info": ["Keep-alive: {seconds} s (0 = off); no NAT seen."],
  "credentials.ok": ["Registered: the server accepts user name and password (realm {realm})."],
  "credentials.fail": [
    "The server refuses the credentials: {reason} (realm {realm}).",
    "Check Username, Auth user and Password. Some PBXes block an address after failed attempts (3CX, fail2ban).",
  ],
  "credentials.warn": ["The registration failed: {reason}.", "See the reason; the node tries again by itself."],
  "credentials.info.off": ["Registration is switched off for this account."],
  "credentials.info": ["The registration is {state}."],
  "expiry.ok": ["The server grants the registration for {granted} s."],
  "expiry.info": ["The server grants {granted} s instead of {requested} s; the node renews in time."],
  "expiry.warn": ["The server grants only {granted} s: the node re-registers often.", "Nothing to do, unless the PBX allows a longer time."],
  "methods.ok": ["The server allows {allow}."],
  "methods.warn": ["The server does not allow INFO ({allow}): keys sent as SIP INFO will not pass.", "Use RFC 4733 keys (the default)."],
  "methods.info": ["The server does not list the methods it allows."],
  "codecs.ok": ["Codecs in common: {common}; keys as RFC 4733 events are possible."],
  "codecs.warn": [
    "Codecs in common: {common}, but the server lists no telephone-event: RFC 4733 keys may not pass.",
    "Enable RFC 4733 (RFC 2833) DTMF on the PBX, or use in-band key detection.",
  ],
  "codecs.fail": ["No codec in common: we offer {ours}, the server {theirs}.", "Allow G.711 (alaw, ulaw) for this extension on the PBX."],
  "codecs.info": ["The server does not list its codecs (normal for OPTIONS); we offer {ours}."],
  "test-call.ok.self": ["Test call to ourselves ({target}) through the server: both legs answered."],
  "test-call.ok": ["Test call to {target}: answered."],
  "test-call.fail": [
    "The test call to {target} failed: {reason}.",
    "Check that the PBX lets this extension call itself, or give an echo service or a second extension as the test number.",
  ],
  "test-call.fail.timeout": [
    "The test call took longer than {seconds} s and was hung up.",
    "Try again; if it happens again, the server is slow to set up calls.",
  ],
  "test-call.warn.busy": ["Another test call of this account is running: no second one was made.", "Wait until it ends, then try again."],
  "test-call.info.skipped": ["No test call: the account is not registered ({state})."],
  "audio.ok": ["Audio flows both ways: each leg heard the other's tone."],
  "audio.ok.echo": ["Our tone came back from {target}: audio flows both ways."],
  "audio.warn.out": [
    "Audio flows only from us to the other leg: our tone arrived, the answer did not (one-way audio).",
    "Usually NAT: let the PBX send audio back to where it comes from (Asterisk: rtp_symmetric=yes, direct_media=no), or set Local IP; open the RTP port range in the firewall.",
  ],
  "audio.warn.back": [
    "Audio flows only towards us: our tone did not reach the other leg (one-way audio).",
    "Usually NAT or a firewall: open the RTP port range, let the PBX relay media (Asterisk: direct_media=no), or set Local IP.",
  ],
  "audio.fail": [
    "No audio in either direction: neither tone arrived.",
    "A firewall may block the RTP port range, or the PBX sends audio to an address it cannot reach (see the NAT and SDP findings).",
  ],
  "audio.fail.echo": [
    "Our tone did not come back from {target}.",
    "If {target} is an echo service, audio is blocked one way (NAT, firewall, RTP ports). A second extension does not echo: listen there instead.",
  ],
  "round-trip.ok": ["Round-trip delay of audio: {ms} ms."],
  "round-trip.warn": [
    "Round-trip delay of audio: {ms} ms, above {limit} ms: speech feels delayed.",
    "Use a wired network, a server closer to Node-RED, or avoid transcoding on the PBX.",
  ],
  "round-trip.info": ["The round-trip delay could not be measured: no tone came back."],
  "dtmf.ok": ["Keys sent as {name} arrive."],
  "dtmf.ok.echo": ["Keys sent as {name} came back from {target}."],
  "dtmf.info.echo": ["Keys sent as {name} did not come back from {target}: an echo may not return them; check on the other phone."],
  "dtmf.info.off": ["{name} not checked: the account does not listen for it (DTMF receive)."],
  "dtmf.warn": ["Keys sent as {name} arrived as {viaName}: the server converts them.", "Nothing to do: the node takes every method."],
  "dtmf.fail.rfc4733": [
    "Keys sent as RFC 4733 events did not arrive: the server removes telephone-event from the SDP or drops the events.",
    "Set the DTMF method to INFO or in-band, or enable RFC 4733 (RFC 2833) DTMF on the PBX.",
  ],
  "dtmf.fail.info": [
    "Keys sent as SIP INFO did not arrive: the server refuses or drops INFO.",
    "Set the DTMF method to RFC 4733 (the default) or in-band.",
  ],
  "dtmf.fail.inband": [
    "Keys sent as tones in the audio did not arrive: the audio is compressed or filtered on the way, or does not flow.",
    "Set the DTMF method to RFC 4733 (the default) or INFO; allow G.711 without transcoding on the PBX.",
  ],
  title: ["SIP doctor, {at}: {server} over {transport}, user {user}. Result: {level}."],
  "level.ok": ["OK"],
  "level.info": ["Info"],
  "level.warn": ["Warning"],
  "level.fail": ["Problem"],
  fixLabel: ["Fix"],
};

const FR: Table = {
  "dns.ok.literal": ["Le serveur {name} est une adresse IP : pas besoin de DNS."],
  "dns.ok.srv": ["{srv} désigne {target}:{targetPort} ({addresses})."],
  "dns.ok": ["{name} correspond à {addresses}."],
  "dns.fail": ["Impossible de résoudre {name}.", "Vérifiez le nom du serveur ou saisissez son adresse IP ; vérifiez le DNS de la machine Node-RED."],
  "transport.ok": ["Le serveur répond en {transport} à {address}:{port} en {rttMs} ms (statut {status})."],
  "transport.fail": [
    "Aucune réponse en {transport} de {address}:{port} ({error}).",
    "Vérifiez Serveur, Port et Transport ; un pare-feu bloque peut-être le port, ou le serveur utilise un autre transport (voir plus bas).",
  ],
  "transport.info": ["Le transport {transport} (WebSocket) n'est pas testé par le diagnostic."],
  "other-transports.info": ["Autres transports : répondent : {answered} ; sans réponse : {silent}."],
  "nat.ok": ["Pas de NAT entre Node-RED et le serveur : il nous voit comme {seen}."],
  "nat.warn.portOnly": [
    "Le serveur voit un autre port ({seen} au lieu de {local}) : un routeur ou un pare-feu change les ports.",
    "Laissez le keep-alive actif. Sur un PBX Asterisk, mettez rewrite_contact=yes, force_rport=yes et rtp_symmetric=yes pour ce poste.",
  ],
  "nat.warn": [
    "NAT entre Node-RED ({local}) et le serveur, qui nous voit comme {seen}.",
    "Laissez le keep-alive actif. Sur un PBX Asterisk, mettez rewrite_contact=yes, force_rport=yes et rtp_symmetric=yes pour ce poste ; ou placez Node-RED dans le réseau du PBX.",
  ],
  "nat.info": ["Le serveur n'indique pas l'adresse d'où il nous voit (pas de received/rport)."],
  "sdp-address.ok": ["L'audio est proposé sur {sdp}."],
  "sdp-address.warn": [
    "L'adresse audio de notre SDP ({sdp}) est privée, mais le serveur nous voit comme {seen} : l'autre côté risque d'envoyer l'audio là où il n'arrive pas (son dans un seul sens).",
    "Laissez le PBX renvoyer l'audio vers sa source (Asterisk : rtp_symmetric=yes, direct_media=no), ou renseignez l'IP locale.",
  ],
  "keepalive.ok": ["Un keep-alive toutes les {seconds} s garde le NAT ouvert."],
  "keepalive.warn": [
    "Le keep-alive est de {seconds} s derrière un NAT : les appels entrants risquent de ne plus arriver au bout de quelques minutes.",
    "Réglez le keep-alive entre 15 et {limit} s (0 le désactive).",
  ],
  "keepalive.info": ["Keep-alive : {seconds} s (0 = désactivé) ; aucun NAT détecté."],
  "credentials.ok": ["Enregistré : le serveur accepte l'identifiant et le mot de passe (realm {realm})."],
  "credentials.fail": [
    "Le serveur refuse les identifiants : {reason} (realm {realm}).",
    "Vérifiez l'identifiant, l'utilisateur d'authentification et le mot de passe. Certains PBX bloquent une adresse après des échecs (3CX, fail2ban).",
  ],
  "credentials.warn": ["L'enregistrement a échoué : {reason}.", "Voir la raison ; le nœud réessaie tout seul."],
  "credentials.info.off": ["L'enregistrement est désactivé pour ce compte."],
  "credentials.info": ["L'enregistrement est {state}."],
  "expiry.ok": ["Le serveur accorde l'enregistrement pour {granted} s."],
  "expiry.info": ["Le serveur accorde {granted} s au lieu de {requested} s ; le nœud renouvelle à temps."],
  "expiry.warn": [
    "Le serveur n'accorde que {granted} s : le nœud se réenregistre souvent.",
    "Rien à faire, sauf si le PBX permet une durée plus longue.",
  ],
  "methods.ok": ["Le serveur autorise {allow}."],
  "methods.warn": [
    "Le serveur n'autorise pas INFO ({allow}) : les touches envoyées en SIP INFO ne passeront pas.",
    "Utilisez les touches RFC 4733 (par défaut).",
  ],
  "methods.info": ["Le serveur n'indique pas les méthodes qu'il autorise."],
  "codecs.ok": ["Codecs en commun : {common} ; les touches en événements RFC 4733 sont possibles."],
  "codecs.warn": [
    "Codecs en commun : {common}, mais le serveur n'annonce pas telephone-event : les touches RFC 4733 risquent de ne pas passer.",
    "Activez le DTMF RFC 4733 (RFC 2833) sur le PBX, ou la détection des touches dans l'audio.",
  ],
  "codecs.fail": ["Aucun codec en commun : nous proposons {ours}, le serveur {theirs}.", "Autorisez le G.711 (alaw, ulaw) pour ce poste sur le PBX."],
  "codecs.info": ["Le serveur n'indique pas ses codecs (normal pour OPTIONS) ; nous proposons {ours}."],
  "test-call.ok.self": ["Appel de test vers nous-mêmes ({target}) via le serveur : les deux côtés ont répondu."],
  "test-call.ok": ["Appel de test vers {target} : décroché."],
  "test-call.fail": [
    "L'appel de test vers {target} a échoué : {reason}.",
    "Vérifiez que le PBX permet à ce poste de s'appeler lui-même, ou indiquez un service d'écho ou un second poste comme numéro de test.",
  ],
  "test-call.fail.timeout": [
    "L'appel de test a duré plus de {seconds} s et a été raccroché.",
    "Réessayez ; si cela se répète, le serveur établit les appels lentement.",
  ],
  "test-call.warn.busy": [
    "Un autre appel de test de ce compte est en cours : aucun second appel n'a été passé.",
    "Attendez qu'il se termine, puis réessayez.",
  ],
  "test-call.info.skipped": ["Pas d'appel de test : le compte n'est pas enregistré ({state})."],
  "audio.ok": ["L'audio passe dans les deux sens : chaque côté a entendu la tonalité de l'autre."],
  "audio.ok.echo": ["Notre tonalité est revenue de {target} : l'audio passe dans les deux sens."],
  "audio.warn.out": [
    "L'audio ne passe que de nous vers l'autre côté : notre tonalité est arrivée, la réponse non (son dans un seul sens).",
    "En général le NAT : laissez le PBX renvoyer l'audio vers sa source (Asterisk : rtp_symmetric=yes, direct_media=no), ou renseignez l'IP locale ; ouvrez la plage de ports RTP dans le pare-feu.",
  ],
  "audio.warn.back": [
    "L'audio ne passe que vers nous : notre tonalité n'a pas atteint l'autre côté (son dans un seul sens).",
    "En général le NAT ou un pare-feu : ouvrez la plage de ports RTP, laissez le PBX relayer l'audio (Asterisk : direct_media=no), ou renseignez l'IP locale.",
  ],
  "audio.fail": [
    "Aucun audio dans aucun sens : aucune tonalité n'est arrivée.",
    "Un pare-feu bloque peut-être la plage de ports RTP, ou le PBX envoie l'audio à une adresse injoignable (voir les constats NAT et SDP).",
  ],
  "audio.fail.echo": [
    "Notre tonalité n'est pas revenue de {target}.",
    "Si {target} est un service d'écho, l'audio est bloqué dans un sens (NAT, pare-feu, ports RTP). Un second poste ne renvoie pas l'écho : écoutez sur ce poste.",
  ],
  "round-trip.ok": ["Délai aller-retour de l'audio : {ms} ms."],
  "round-trip.warn": [
    "Délai aller-retour de l'audio : {ms} ms, au-delà de {limit} ms : la parole semble retardée.",
    "Utilisez un réseau filaire, un serveur plus proche de Node-RED, ou évitez le transcodage sur le PBX.",
  ],
  "round-trip.info": ["Le délai aller-retour n'a pas pu être mesuré : aucune tonalité n'est revenue."],
  "dtmf.ok": ["Les touches envoyées en {name} arrivent."],
  "dtmf.ok.echo": ["Les touches envoyées en {name} sont revenues de {target}."],
  "dtmf.info.echo": [
    "Les touches envoyées en {name} ne sont pas revenues de {target} : un écho ne les renvoie pas toujours ; vérifiez sur l'autre téléphone.",
  ],
  "dtmf.info.off": ["{name} non vérifié : le compte ne l'écoute pas (réception DTMF)."],
  "dtmf.warn": [
    "Les touches envoyées en {name} sont arrivées en {viaName} : le serveur les convertit.",
    "Rien à faire : le nœud accepte toutes les méthodes.",
  ],
  "dtmf.fail.rfc4733": [
    "Les touches envoyées en événements RFC 4733 ne sont pas arrivées : le serveur retire telephone-event du SDP ou supprime les événements.",
    "Réglez la méthode DTMF sur INFO ou dans l'audio, ou activez le DTMF RFC 4733 (RFC 2833) sur le PBX.",
  ],
  "dtmf.fail.info": [
    "Les touches envoyées en SIP INFO ne sont pas arrivées : le serveur refuse ou supprime les INFO.",
    "Réglez la méthode DTMF sur RFC 4733 (par défaut) ou dans l'audio.",
  ],
  "dtmf.fail.inband": [
    "Les touches envoyées en tonalités dans l'audio ne sont pas arrivées : l'audio est compressé ou filtré en route, ou ne passe pas.",
    "Réglez la méthode DTMF sur RFC 4733 (par défaut) ou INFO ; autorisez le G.711 sans transcodage sur le PBX.",
  ],
  title: ["Diagnostic SIP, {at} : {server} en {transport}, utilisateur {user}. Résultat : {level}."],
  "level.ok": ["OK"],
  "level.info": ["Info"],
  "level.warn": ["Attention"],
  "level.fail": ["Problème"],
  fixLabel: ["Solution"],
};

const DE: Table = {
  "dns.ok.literal": ["Der Server {name} ist eine IP-Adresse: kein DNS nötig."],
  "dns.ok.srv": ["{srv} verweist auf {target}:{targetPort} ({addresses})."],
  "dns.ok": ["{name} wird zu {addresses} aufgelöst."],
  "dns.fail": [
    "{name} lässt sich nicht auflösen.",
    "Servernamen prüfen oder die IP-Adresse eintragen; DNS-Einstellungen des Node-RED-Rechners prüfen.",
  ],
  "transport.ok": ["Der Server antwortet über {transport} auf {address}:{port} in {rttMs} ms (Status {status})."],
  "transport.fail": [
    "Keine Antwort über {transport} von {address}:{port} ({error}).",
    "Server, Port und Transport prüfen; vielleicht sperrt eine Firewall den Port, oder der Server nutzt einen anderen Transport (siehe unten).",
  ],
  "transport.info": ["Der Transport {transport} (WebSocket) wird von der Diagnose nicht geprüft."],
  "other-transports.info": ["Andere Transporte: antworten: {answered}; keine Antwort: {silent}."],
  "nat.ok": ["Kein NAT zwischen Node-RED und dem Server: er sieht uns als {seen}."],
  "nat.warn.portOnly": [
    "Der Server sieht einen anderen Port ({seen} statt {local}): ein Router oder eine Firewall ändert Ports.",
    "Keep-alive eingeschaltet lassen. Bei Asterisk für diese Nebenstelle rewrite_contact=yes, force_rport=yes und rtp_symmetric=yes setzen.",
  ],
  "nat.warn": [
    "NAT zwischen Node-RED ({local}) und dem Server, der uns als {seen} sieht.",
    "Keep-alive eingeschaltet lassen. Bei Asterisk für diese Nebenstelle rewrite_contact=yes, force_rport=yes und rtp_symmetric=yes setzen; oder Node-RED im Netz der Telefonanlage betreiben.",
  ],
  "nat.info": ["Der Server sagt nicht, von welcher Adresse er uns sieht (kein received/rport)."],
  "sdp-address.ok": ["Audio wird auf {sdp} angeboten."],
  "sdp-address.warn": [
    "Die Audio-Adresse in unserem SDP ({sdp}) ist privat, der Server sieht uns aber als {seen}: die Gegenseite schickt Audio womöglich dorthin, wo es nicht ankommt (Ton nur in eine Richtung).",
    "Die Telefonanlage Audio dorthin zurückschicken lassen, woher es kommt (Asterisk: rtp_symmetric=yes, direct_media=no), oder die lokale IP eintragen.",
  ],
  "keepalive.ok": ["Keep-alive alle {seconds} s hält das NAT offen."],
  "keepalive.warn": [
    "Keep-alive ist {seconds} s hinter einem NAT: eingehende Anrufe kommen nach einigen Minuten womöglich nicht mehr an.",
    "Keep-alive auf 15 bis {limit} s stellen (0 schaltet es aus).",
  ],
  "keepalive.info": ["Keep-alive: {seconds} s (0 = aus); kein NAT erkannt."],
  "credentials.ok": ["Registriert: der Server akzeptiert Benutzername und Kennwort (Realm {realm})."],
  "credentials.fail": [
    "Der Server lehnt die Zugangsdaten ab: {reason} (Realm {realm}).",
    "Benutzername, Auth-Benutzer und Kennwort prüfen. Manche Anlagen sperren eine Adresse nach Fehlversuchen (3CX, fail2ban).",
  ],
  "credentials.warn": ["Die Registrierung ist fehlgeschlagen: {reason}.", "Siehe Grund; der Knoten versucht es selbst erneut."],
  "credentials.info.off": ["Die Registrierung ist für dieses Konto ausgeschaltet."],
  "credentials.info": ["Die Registrierung ist {state}."],
  "expiry.ok": ["Der Server gewährt die Registrierung für {granted} s."],
  "expiry.info": ["Der Server gewährt {granted} s statt {requested} s; der Knoten erneuert rechtzeitig."],
  "expiry.warn": [
    "Der Server gewährt nur {granted} s: der Knoten registriert sich oft neu.",
    "Nichts zu tun, außer die Anlage erlaubt eine längere Zeit.",
  ],
  "methods.ok": ["Der Server erlaubt {allow}."],
  "methods.warn": [
    "Der Server erlaubt kein INFO ({allow}): als SIP INFO gesendete Tasten kommen nicht durch.",
    "RFC-4733-Tasten verwenden (Standard).",
  ],
  "methods.info": ["Der Server nennt die erlaubten Methoden nicht."],
  "codecs.ok": ["Gemeinsame Codecs: {common}; Tasten als RFC-4733-Ereignisse sind möglich."],
  "codecs.warn": [
    "Gemeinsame Codecs: {common}, aber der Server nennt kein telephone-event: RFC-4733-Tasten kommen womöglich nicht durch.",
    "RFC-4733-(RFC-2833-)DTMF in der Telefonanlage einschalten oder die Tastenerkennung im Audio nutzen.",
  ],
  "codecs.fail": [
    "Kein gemeinsamer Codec: wir bieten {ours}, der Server {theirs}.",
    "G.711 (alaw, ulaw) für diese Nebenstelle in der Anlage erlauben.",
  ],
  "codecs.info": ["Der Server nennt seine Codecs nicht (bei OPTIONS normal); wir bieten {ours}."],
  "test-call.ok.self": ["Testanruf an uns selbst ({target}) über den Server: beide Seiten haben angenommen."],
  "test-call.ok": ["Testanruf an {target}: angenommen."],
  "test-call.fail": [
    "Der Testanruf an {target} ist fehlgeschlagen: {reason}.",
    "Prüfen, ob die Anlage dieser Nebenstelle erlaubt, sich selbst anzurufen, oder einen Echo-Dienst oder eine zweite Nebenstelle als Testnummer angeben.",
  ],
  "test-call.fail.timeout": [
    "Der Testanruf dauerte länger als {seconds} s und wurde aufgelegt.",
    "Erneut versuchen; passiert es wieder, baut der Server Anrufe langsam auf.",
  ],
  "test-call.warn.busy": ["Ein anderer Testanruf dieses Kontos läuft: kein zweiter wurde gestartet.", "Warten, bis er endet, dann erneut versuchen."],
  "test-call.info.skipped": ["Kein Testanruf: das Konto ist nicht registriert ({state})."],
  "audio.ok": ["Audio fließt in beide Richtungen: jede Seite hat den Ton der anderen gehört."],
  "audio.ok.echo": ["Unser Ton kam von {target} zurück: Audio fließt in beide Richtungen."],
  "audio.warn.out": [
    "Audio fließt nur von uns zur Gegenseite: unser Ton kam an, die Antwort nicht (Ton nur in eine Richtung).",
    "Meist NAT: die Anlage Audio dorthin zurückschicken lassen, woher es kommt (Asterisk: rtp_symmetric=yes, direct_media=no), oder die lokale IP eintragen; den RTP-Portbereich in der Firewall öffnen.",
  ],
  "audio.warn.back": [
    "Audio fließt nur zu uns: unser Ton erreichte die Gegenseite nicht (Ton nur in eine Richtung).",
    "Meist NAT oder eine Firewall: den RTP-Portbereich öffnen, die Anlage Audio weiterleiten lassen (Asterisk: direct_media=no) oder die lokale IP eintragen.",
  ],
  "audio.fail": [
    "Kein Audio in keiner Richtung: kein Ton kam an.",
    "Vielleicht sperrt eine Firewall den RTP-Portbereich, oder die Anlage schickt Audio an eine unerreichbare Adresse (siehe NAT und SDP).",
  ],
  "audio.fail.echo": [
    "Unser Ton kam von {target} nicht zurück.",
    "Ist {target} ein Echo-Dienst, ist Audio in eine Richtung gesperrt (NAT, Firewall, RTP-Ports). Eine zweite Nebenstelle gibt kein Echo: dort zuhören.",
  ],
  "round-trip.ok": ["Umlaufverzögerung des Audios: {ms} ms."],
  "round-trip.warn": [
    "Umlaufverzögerung des Audios: {ms} ms, über {limit} ms: Sprache wirkt verzögert.",
    "Ein kabelgebundenes Netz, einen näheren Server nutzen oder Transcoding in der Anlage vermeiden.",
  ],
  "round-trip.info": ["Die Umlaufverzögerung ließ sich nicht messen: kein Ton kam zurück."],
  "dtmf.ok": ["Als {name} gesendete Tasten kommen an."],
  "dtmf.ok.echo": ["Als {name} gesendete Tasten kamen von {target} zurück."],
  "dtmf.info.echo": ["Als {name} gesendete Tasten kamen von {target} nicht zurück: ein Echo gibt sie nicht immer zurück; am anderen Telefon prüfen."],
  "dtmf.info.off": ["{name} nicht geprüft: das Konto empfängt es nicht (DTMF-Empfang)."],
  "dtmf.warn": ["Als {name} gesendete Tasten kamen als {viaName} an: der Server wandelt sie um.", "Nichts zu tun: der Knoten nimmt jede Methode."],
  "dtmf.fail.rfc4733": [
    "Als RFC-4733-Ereignisse gesendete Tasten kamen nicht an: der Server entfernt telephone-event aus dem SDP oder verwirft die Ereignisse.",
    "Die DTMF-Methode auf INFO oder In-Band stellen oder RFC-4733-(RFC-2833-)DTMF in der Anlage einschalten.",
  ],
  "dtmf.fail.info": [
    "Als SIP INFO gesendete Tasten kamen nicht an: der Server lehnt INFO ab oder verwirft es.",
    "Die DTMF-Methode auf RFC 4733 (Standard) oder In-Band stellen.",
  ],
  "dtmf.fail.inband": [
    "Als Töne im Audio gesendete Tasten kamen nicht an: das Audio wird unterwegs komprimiert oder gefiltert oder fließt nicht.",
    "Die DTMF-Methode auf RFC 4733 (Standard) oder INFO stellen; G.711 ohne Transcoding in der Anlage erlauben.",
  ],
  title: ["SIP-Diagnose, {at}: {server} über {transport}, Benutzer {user}. Ergebnis: {level}."],
  "level.ok": ["OK"],
  "level.info": ["Info"],
  "level.warn": ["Warnung"],
  "level.fail": ["Problem"],
  fixLabel: ["Abhilfe"],
};

export const DOCTOR_TEXTS: Readonly<Record<DoctorLanguage, Table>> = { en: EN, fr: FR, de: DE };

function fill(template: string, facts: Facts): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = facts[k];
    return v === undefined || v === "" ? "-" : String(v);
  });
}

/** The key of a finding's sentence: a variant first (".literal", ".srv", ".portOnly", ".off"), then id.level. */
export function findingKey(f: Pick<DoctorFinding, "id" | "level" | "facts">): string {
  const base = `${f.id}.${f.level}`;
  if (f.id.startsWith("dtmf-")) return dtmfKey(f);
  if (f.id === "test-call") {
    const variant = f.facts.timeout
      ? "timeout"
      : f.facts.busy
        ? "busy"
        : f.facts.skipped
          ? "skipped"
          : f.level === "ok" && f.facts.self
            ? "self"
            : "";
    return variant ? `${base}.${variant}` : base;
  }
  if (f.id === "audio")
    return f.facts.echo && f.level !== "warn" ? `${base}.echo` : f.level === "warn" ? `${base}.${f.facts.out ? "out" : "back"}` : base;
  if (f.id === "dns" && f.level === "ok") return f.facts.literal ? `${base}.literal` : f.facts.srv ? `${base}.srv` : base;
  if (f.id === "nat" && f.level === "warn" && f.facts.portOnly) return `${base}.portOnly`;
  if (f.id === "credentials" && f.level === "info" && f.facts.off) return `${base}.off`;
  return base;
}

/** The test call's key findings share their sentences: dtmf.<level>[.echo|.off], a failure per method. */
function dtmfKey(f: Pick<DoctorFinding, "level" | "facts">): string {
  if (f.facts.off) return "dtmf.info.off";
  if (f.facts.echo) return f.level === "ok" ? "dtmf.ok.echo" : "dtmf.info.echo";
  return f.level === "fail" ? `dtmf.fail.${String(f.facts.method)}` : `dtmf.${f.level}`;
}

export function renderFinding(f: Pick<DoctorFinding, "id" | "level" | "facts">, language: DoctorLanguage): { text: string; fix?: string } {
  const [text, fix] = DOCTOR_TEXTS[language][findingKey(f)] ?? DOCTOR_TEXTS.en[findingKey(f)] ?? [`${f.id}: ${f.level}`];
  return fix && f.level !== "ok" ? { text: fill(text, f.facts), fix: fill(fix, f.facts) } : { text: fill(text, f.facts) };
}

export function renderReport(r: Omit<DoctorReport, "text">): string {
  const t = DOCTOR_TEXTS[r.language];
  const level = (l: FindingLevel): string => t[`level.${l}`][0];
  const lines = [
    fill(t.title[0], {
      at: r.at,
      server: r.account.server,
      transport: r.account.transport.toUpperCase(),
      user: r.account.user,
      level: level(r.level),
    }),
  ];
  for (const f of r.findings) {
    lines.push(`[${level(f.level)}] ${f.text}`);
    if (f.fix) lines.push(`    ${t.fixLabel[0]}: ${f.fix}`);
  }
  return lines.join("\n");
}
