// Text for the speech talk-off test: per language, phrase parts that are
// combined at random (seeded) into many different sentences, plus numbers
// read aloud, which is what callers hear most on a phone line.
import { rng } from "./signals.js";

interface PhraseBook {
  openers: string[];
  subjects: string[];
  verbs: string[];
  objects: string[];
  endings: string[];
  /** Number sentence with {n} for a digit string. */
  numbers: string[];
}

const BOOKS: Record<string, PhraseBook> = {
  "en-US": {
    openers: ["Good morning.", "Hello there.", "Thank you for calling.", "Please listen carefully.", "Attention please.", "Welcome back."],
    subjects: [
      "The front door",
      "Your neighbour",
      "The heating system",
      "Our service team",
      "The garden light",
      "A delivery driver",
      "The kitchen window",
      "My brother",
    ],
    verbs: ["has opened", "will check", "is waiting for", "cannot find", "would like to repair", "reported", "is looking at", "forgot"],
    objects: [
      "the blue parcel",
      "the garage key",
      "a broken cable",
      "the weather forecast",
      "your new invoice",
      "the washing machine",
      "three yellow boxes",
      "the evening news",
    ],
    endings: [
      "right now.",
      "before lunch.",
      "in the basement.",
      "as soon as possible.",
      "tomorrow afternoon.",
      "without any problems.",
      "near the station.",
      "once again.",
    ],
    numbers: [
      "Your customer number is {n}.",
      "Please call {n} after six o'clock.",
      "The code for the gate is {n}.",
      "Room {n} is on the second floor.",
    ],
  },
  "en-GB": {
    openers: ["Good afternoon.", "Right then.", "Sorry to bother you.", "Just a quick message.", "Cheers for waiting.", "Lovely weather today."],
    subjects: ["The postman", "Your flat", "The boiler", "Our office in Leeds", "The car park", "A taxi", "The cooker", "My colleague"],
    verbs: ["has collected", "should inspect", "is queuing for", "has lost", "would fancy", "rang about", "is fixing", "has booked"],
    objects: [
      "a cup of tea",
      "the council tax letter",
      "the lift",
      "the railway timetable",
      "your parking permit",
      "the damp patch",
      "four biscuits",
      "the football results",
    ],
    endings: [
      "this evening.",
      "on the high street.",
      "at half past nine.",
      "straight away.",
      "next fortnight.",
      "in the rain.",
      "by the roundabout.",
      "as usual.",
    ],
    numbers: ["Your booking reference is {n}.", "Ring {n} if you need help.", "Platform {n} is closed today.", "The postcode ends in {n}."],
  },
  "de-DE": {
    openers: [
      "Guten Tag.",
      "Hallo zusammen.",
      "Vielen Dank für Ihren Anruf.",
      "Bitte hören Sie genau zu.",
      "Achtung, eine Durchsage.",
      "Schön, dass Sie da sind.",
    ],
    subjects: [
      "Die Haustür",
      "Ihr Nachbar",
      "Die Heizung",
      "Unser Kundendienst",
      "Das Gartenlicht",
      "Ein Paketbote",
      "Das Küchenfenster",
      "Meine Schwester",
    ],
    verbs: ["hat geöffnet", "prüft morgen", "wartet auf", "findet nicht", "möchte reparieren", "meldet", "betrachtet", "vergisst"],
    objects: [
      "das blaue Paket",
      "den Garagenschlüssel",
      "ein kaputtes Kabel",
      "den Wetterbericht",
      "Ihre neue Rechnung",
      "die Waschmaschine",
      "drei gelbe Kisten",
      "die Abendnachrichten",
    ],
    endings: [
      "gerade jetzt.",
      "vor dem Mittagessen.",
      "im Keller.",
      "so schnell wie möglich.",
      "morgen Nachmittag.",
      "ohne Probleme.",
      "am Bahnhof.",
      "noch einmal.",
    ],
    numbers: [
      "Ihre Kundennummer lautet {n}.",
      "Bitte rufen Sie {n} nach achtzehn Uhr an.",
      "Der Code für das Tor ist {n}.",
      "Zimmer {n} liegt im zweiten Stock.",
    ],
  },
  "es-ES": {
    openers: [
      "Buenos días.",
      "Hola a todos.",
      "Gracias por llamar.",
      "Escuche con atención, por favor.",
      "Atención, un aviso.",
      "Bienvenido de nuevo.",
    ],
    subjects: [
      "La puerta principal",
      "Su vecino",
      "La calefacción",
      "Nuestro servicio técnico",
      "La luz del jardín",
      "Un repartidor",
      "La ventana de la cocina",
      "Mi hermano",
    ],
    verbs: ["ha abierto", "revisará", "está esperando", "no encuentra", "quiere reparar", "ha informado sobre", "está mirando", "ha olvidado"],
    objects: [
      "el paquete azul",
      "la llave del garaje",
      "un cable roto",
      "el pronóstico del tiempo",
      "su nueva factura",
      "la lavadora",
      "tres cajas amarillas",
      "las noticias de la tarde",
    ],
    endings: [
      "ahora mismo.",
      "antes de comer.",
      "en el sótano.",
      "lo antes posible.",
      "mañana por la tarde.",
      "sin ningún problema.",
      "cerca de la estación.",
      "otra vez.",
    ],
    numbers: [
      "Su número de cliente es {n}.",
      "Llame al {n} después de las seis.",
      "El código de la puerta es {n}.",
      "La habitación {n} está en el segundo piso.",
    ],
  },
  "fr-FR": {
    openers: [
      "Bonjour.",
      "Bonsoir à tous.",
      "Merci de votre appel.",
      "Veuillez écouter attentivement.",
      "Attention, une annonce.",
      "Bon retour parmi nous.",
    ],
    subjects: [
      "La porte d'entrée",
      "Votre voisin",
      "Le chauffage",
      "Notre service client",
      "La lumière du jardin",
      "Un livreur",
      "La fenêtre de la cuisine",
      "Ma sœur",
    ],
    verbs: ["a ouvert", "va vérifier", "attend", "ne trouve pas", "voudrait réparer", "a signalé", "regarde", "a oublié"],
    objects: [
      "le colis bleu",
      "la clé du garage",
      "un câble cassé",
      "la météo",
      "votre nouvelle facture",
      "la machine à laver",
      "trois boîtes jaunes",
      "le journal du soir",
    ],
    endings: [
      "tout de suite.",
      "avant le déjeuner.",
      "dans la cave.",
      "dès que possible.",
      "demain après-midi.",
      "sans aucun problème.",
      "près de la gare.",
      "encore une fois.",
    ],
    numbers: [
      "Votre numéro client est le {n}.",
      "Appelez le {n} après dix-huit heures.",
      "Le code du portail est {n}.",
      "La chambre {n} se trouve au deuxième étage.",
    ],
  },
  "it-IT": {
    openers: ["Buongiorno.", "Ciao a tutti.", "Grazie per aver chiamato.", "Ascoltate con attenzione.", "Attenzione, un avviso.", "Bentornati."],
    subjects: [
      "La porta d'ingresso",
      "Il vostro vicino",
      "Il riscaldamento",
      "Il nostro servizio clienti",
      "La luce del giardino",
      "Un corriere",
      "La finestra della cucina",
      "Mio fratello",
    ],
    verbs: ["ha aperto", "controllerà", "sta aspettando", "non trova", "vorrebbe riparare", "ha segnalato", "sta guardando", "ha dimenticato"],
    objects: [
      "il pacco blu",
      "la chiave del garage",
      "un cavo rotto",
      "le previsioni del tempo",
      "la vostra nuova fattura",
      "la lavatrice",
      "tre scatole gialle",
      "il telegiornale della sera",
    ],
    endings: [
      "proprio adesso.",
      "prima di pranzo.",
      "in cantina.",
      "il prima possibile.",
      "domani pomeriggio.",
      "senza problemi.",
      "vicino alla stazione.",
      "ancora una volta.",
    ],
    numbers: [
      "Il vostro numero cliente è {n}.",
      "Chiamate il {n} dopo le sei.",
      "Il codice del cancello è {n}.",
      "La stanza {n} è al secondo piano.",
    ],
  },
};

export const SPEECH_LANGUAGES = Object.keys(BOOKS);

/**
 * `count` paragraphs of about 8 sentences each for a language; every
 * fourth sentence reads out a number (as digits, which Pico speaks as
 * numbers or digit by digit).
 */
export function speechParagraphs(lang: string, count: number, seed: number): string[] {
  const b = BOOKS[lang];
  if (!b) throw new Error(`no phrase book for ${lang}`);
  const rand = rng(seed);
  const pick = (xs: string[]) => xs[Math.floor(rand() * xs.length)];
  const out: string[] = [];
  for (let p = 0; p < count; p++) {
    const sentences: string[] = [pick(b.openers)];
    for (let s = 0; s < 8; s++) {
      if (s % 4 === 3) {
        let n = "";
        const len = 2 + Math.floor(rand() * 7);
        for (let i = 0; i < len; i++) n += String(Math.floor(rand() * 10));
        sentences.push(pick(b.numbers).replace("{n}", n));
      } else {
        sentences.push(`${pick(b.subjects)} ${pick(b.verbs)} ${pick(b.objects)} ${pick(b.endings)}`);
      }
    }
    out.push(sentences.join(" "));
  }
  return out;
}
