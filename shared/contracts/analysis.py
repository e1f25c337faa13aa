"""The analysis settings of the articles index: the ``newsflow_*`` analyzers
of our Elasticsearch plugin (deploy/elasticsearch/) and the synonym list
Newsflow searches with. Data only; ``index.py`` puts it in the template."""

from __future__ import annotations

from typing import Any

# deploy/elasticsearch/analysis.md's recommended block (tested there against
# the node), with the synonym list Newsflow searches with.
ANALYSIS: dict[str, Any] = {
    "filter": {
        "newsflow_prefix_grams": {
            "type": "newsflow_edge_ngram",
            "min_gram": 2,
            "max_gram": 15,
            "preserve_original": True,
        },
        "newsflow_synonyms": {
            "type": "newsflow_synonym_graph",
            "synonyms": [
                "u.s., usa, united states",
                "u.k., uk, united kingdom",
                "e.u., european union",
                "nyc, new york city",
            ],
        },
    },
    "analyzer": {
        "newsflow_exact": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": ["lowercase"],
        },
        "newsflow_folded": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_word_delimiter",
                "newsflow_flatten_graph",
                "lowercase",
                "newsflow_folding",
                "newsflow_remove_duplicates",
            ],
        },
        "newsflow_folded_search": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": ["newsflow_word_delimiter", "lowercase", "newsflow_folding"],
        },
        "newsflow_en": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_word_delimiter",
                "newsflow_flatten_graph",
                "lowercase",
                "newsflow_folding",
                "newsflow_english_possessive",
                "newsflow_kstem",
                "newsflow_remove_duplicates",
            ],
        },
        "newsflow_en_search": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_word_delimiter",
                "lowercase",
                "newsflow_folding",
                "newsflow_english_possessive",
                "newsflow_kstem",
            ],
        },
        "newsflow_fr": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_french_elision",
                "newsflow_word_delimiter",
                "newsflow_flatten_graph",
                "lowercase",
                "newsflow_french_light_stem",
                "newsflow_folding",
                "newsflow_remove_duplicates",
            ],
        },
        "newsflow_fr_search": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_french_elision",
                "newsflow_word_delimiter",
                "lowercase",
                "newsflow_french_light_stem",
                "newsflow_folding",
            ],
        },
        "newsflow_es": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_word_delimiter",
                "newsflow_flatten_graph",
                "lowercase",
                "newsflow_spanish_light_stem",
                "newsflow_folding",
                "newsflow_remove_duplicates",
            ],
        },
        "newsflow_es_search": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": [
                "newsflow_word_delimiter",
                "lowercase",
                "newsflow_spanish_light_stem",
                "newsflow_folding",
            ],
        },
        "newsflow_prefix": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": ["lowercase", "newsflow_folding", "newsflow_prefix_grams"],
        },
        "newsflow_prefix_search": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": ["lowercase", "newsflow_folding"],
        },
        "newsflow_synonyms_search": {
            "type": "custom",
            "tokenizer": "newsflow_tokenizer",
            "filter": ["lowercase", "newsflow_folding", "newsflow_synonyms"],
        },
    },
}
