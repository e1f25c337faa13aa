"""Function words "similar articles" ignores.

more_like_this picks an article's most distinctive words by how rare they
are in the index. In a language with few articles, its function words are
rare too ("la", "und", "и" appear in only those few), and two unrelated
articles of that language looked alike through them. These lists (the most
frequent words of each language the samples hold, folded like the fields)
take them out; words of big languages would score low anyway.
"""

from __future__ import annotations

_WORDS = {
    "en": "a an and are as at be but by for from had has have he her his i if in into is it "
    "its not of on or our she so than that the their them then there these they this to "
    "was we were which who will with you your",
    "fr": "a au aux avec ce ces dans de des du elle en et est il ils je la le les leur lui "
    "mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses "
    "son sur ta te tes toi ton tu un une vos votre vous c d j l m n s t y ete etre plus",
    "es": "a al algo como con de del el ella ellos en entre era es esta este esto fue ha "
    "han la las le les lo los mas me mi muy no nos o para pero por que se ser si sin "
    "sobre su sus te tu un una uno y ya",
    "de": "aber als am an auch auf aus bei bis da das dass dem den der des die doch du "
    "ein eine einem einen einer es fur hat ich ihr im in ist ja kann mit nach nicht noch "
    "nur oder sich sie sind so um und uns von vor war was wie wir wird zu zum zur",
    "it": "a al alla anche che chi ci con da dal de dei del della di e gli ha i il in la "
    "le lo ma mi ne nel non per piu quel questo se si sono su tra tu un una uno",
    "pt": "a ao aos as com como da das de do dos e ela ele em entre era esta eu foi ha "
    "isso mais mas me na nao nas no nos o os ou para pela pelo por que se sem ser seu "
    "sua um uma",
    "ru": "а без бы в во вот все да для до его ее если же за и из или им их к как ко "
    "когда ли мы на не нет но о об от по при с так то только у уже чем что это я",
    # Japanese is one token per kanji/kana run; its particles.
    "ja": "の に は を た が で て と し れ さ ある いる も する から な こと として い や など",
}

STOP_WORDS: tuple[str, ...] = tuple(sorted({w for words in _WORDS.values() for w in words.split()}))
