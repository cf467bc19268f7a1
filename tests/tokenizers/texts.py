"""Small corpora the tokenizer tests build themselves (no network, no files)."""

import random


def synthetic_corpus(n_words: int = 3000, seed: int = 0) -> str:
    """Pseudo-words from syllables, with punctuation, digits, accents and an emoji."""
    rng = random.Random(seed)
    syllables = ["ka", "to", "ri", "na", "lo", "mé", "su", "ber", "an", "the", "ing", "qu", "ü"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(300)]
    out = []
    for i in range(n_words):
        word = rng.choice(words[: rng.randint(5, 300)])  # a skewed, Zipf-like choice
        if i % 17 == 0:
            word = word.capitalize()
        out.append(word)
        if i % 11 == 0:
            out.append(rng.choice([",", ".", "!", "'s", str(rng.randint(0, 99999)), "🙂"]))
    return " ".join(out) + "\n"


# Hand-written lines for the cross-checks with `tokenizers` and `sentencepiece` beyond English:
# several scripts, emoji built with zero-width joiners (U+200D) and variation selectors, skin-tone
# modifiers and flags, decomposed accents (a letter followed by a combining mark), Devanagari and
# Thai vowel signs, snake_case code, tabs and runs of spaces. Lines end in CRLF.
MULTISCRIPT_LINES = (
    "The quick brown fox jumps over the lazy dog; the dog sleeps on.",
    "Le cafe\u0301 est fermé le lundi, mais la boulangerie ouvre à 7 h.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein, sagt er.",
    "Tie\u0302\u0301ng Vie\u0323\u0302t co\u0301 nhie\u0302\u0300u da\u0302\u0301u thanh.",
    "Η γλώσσα μας είναι αρχαία και ζωντανή· γράφουμε κάθε μέρα.",
    "Москва не сразу строилась, а мы учимся каждый день.",
    "اللغة العربية تكتب من اليمين إلى اليسار.",
    "עברית נכתבת מימין לשמאל, כמו ערבית.",
    "हिन्दी में मात्राएँ अक्षरों के साथ जुड़ती हैं।",
    "ภาษาไทยไม่เว้นวรรคระหว่างคำ",
    "我们今天学习分词器，明天训练模型。",
    "日本語はひらがなとカタカナと漢字を使います。",
    "한국어는 한글로 씁니다. 음절이 블록을 이룹니다.",
    "Team: 👩\u200d💻👨\u200d👩\u200d👧\u200d👦 and 🏳\ufe0f\u200d🌈 plus 👍🏽 and 🧑🏾\u200d🚀 from 🇫🇷 to 🇯🇵!",
    "def count_tokens(text_input: str, max_len: int = 512) -> int:",
    "    return len(tokenizer.encode(text_input)[:max_len])  # __init__ aside",
    "SELF_TEST = {'snake_case': 1, 'CamelCase': 2, '_private': 3}",
    "x\t=\t3.14159;  y  =  2,718  #  ±  ≤  €  ©",
    "naïve coöperate façade résumé — “quoted” ‘single’ «guillemets»",
)


def multiscript_corpus(n_lines: int = 1200, seed: int = 0) -> str:
    """The lines above, shuffled with repeats (so pairs recur) and joined with CRLF line ends."""
    rng = random.Random(seed)
    lines = [rng.choice(MULTISCRIPT_LINES) for _ in range(n_lines)]
    # words of different lines side by side, so that merges see more than fixed sentences
    for i in range(0, n_lines, 3):
        a, b = rng.choice(MULTISCRIPT_LINES).split(" "), rng.choice(MULTISCRIPT_LINES).split(" ")
        lines[i] = " ".join(a[: len(a) // 2] + b[len(b) // 2:])
    return "\r\n".join(lines) + "\r\n"
