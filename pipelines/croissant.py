"""``croissant.json``: the dataset folder described in MLCommons Croissant 1.0 (JSON-LD).

Derived, like the card, from the record declaration (:mod:`qa_crawler.record`: every field's
type and meaning) and the manifest (files, checksums, version, crawl window): a record set per
table (``qa``, ``similar``, ``related_topics``, ``failures``, each read from its Parquet file),
the licence, the citation, and the Responsible-AI fields (``rai:``) from the card's
personal-data account. Pure: manifest in, JSON-LD document out.
"""

from __future__ import annotations

import pyarrow as pa

from qa_crawler.record import PERSONAL_DATA, dataset_schema, flat_schema

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
# The standard Croissant 1.0 context (the spec's, as mlcroissant writes it).
CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract",
    "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath", "key": "cr:key",
    "md5": "cr:md5", "parentField": "cr:parentField", "path": "cr:path",
    "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex",
    "repeated": "cr:repeated", "replace": "cr:replace", "samplingRate": "cr:samplingRate",
    "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform", "equivalentProperty": "cr:equivalentProperty",
}
LICENSE = ("other: the terms of use of doctorqna.com apply to its texts (the questions, the "
           "doctors' replies and the site's explanations); read them before any redistribution")
ENCODING = {"parquet": "application/x-parquet", "csv": "text/csv", "md": "text/markdown",
            "json": "application/json"}


def _data_type(t: pa.DataType) -> str | None:
    if pa.types.is_string(t):
        return "sc:Text"
    if pa.types.is_integer(t):
        return "sc:Integer"
    if pa.types.is_floating(t):
        return "sc:Float"
    if pa.types.is_boolean(t):
        return "sc:Boolean"
    if pa.types.is_date(t):
        return "sc:Date"
    if pa.types.is_timestamp(t):
        return "sc:DateTime"
    return None  # lists: kept in their own tables (similar, related_topics) or left out


def _record_set(name: str, schema: pa.Schema, file: str) -> dict:
    fields = []
    for f in schema:
        data_type = _data_type(f.type)
        if data_type is None:
            continue
        doc = (f.metadata or {}).get(b"doc", b"").decode()
        fields.append({
            "@type": "cr:Field", "@id": f"{name}/{f.name}", "name": f.name, "description": doc,
            "dataType": data_type,
            "source": {"fileObject": {"@id": file}, "extract": {"column": f.name}},
        })
    return {"@type": "cr:RecordSet", "@id": name, "name": name, "field": fields}


def citation(manifest: dict) -> str:
    """A BibTeX entry for the release (the card shows the same)."""
    year = (manifest.get("created_at") or "")[:4] or "n.d."
    version = manifest.get("version", "")
    return ("@misc{doctorqna_qa_crawler_%s,\n  title = {Q\\&A pages of doctorqna.com, a qa-crawler "
            "dataset},\n  note = {version %s, crawled from %s with qa-crawler %s},\n  year = {%s}\n}"
            % (year, version, manifest.get("start_url") or "doctorqna.com",
               manifest.get("tool_version", ""), year))


def croissant(manifest: dict, failure_schema: pa.Schema) -> dict:
    """The Croissant document of a dataset folder whose manifest is ``manifest``."""
    files = manifest["files"]
    distribution = [{
        "@type": "cr:FileObject", "@id": name, "name": name, "contentUrl": name,
        "encodingFormat": ENCODING.get(name.rsplit(".", 1)[-1], "application/octet-stream"),
        "sha256": info["sha256"],
    } for name, info in files.items()]
    drop = set(manifest.get("redacted_dropped") or ())
    record_sets = [_record_set("qa", dataset_schema(drop), "qa.parquet")]
    record_sets += [_record_set(t, flat_schema(t), f"{t}.parquet")
                    for t in ("similar", "related_topics")]
    record_sets.append(_record_set("failures", failure_schema, "failures.parquet"))
    record_sets = [r for r in record_sets if f"{r['name']}.parquet" in files]
    crawl = manifest.get("crawl") or {}
    personal = "; ".join(f"{c}: {why}" for c, why in PERSONAL_DATA.items())
    redacted = manifest.get("redacted") or {}
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": "doctorqna-qa",
        "description": (
            "Questions that members of the public asked doctors on doctorqna.com, with the "
            "doctors' replies, as the site republishes them in English: one row per Q&A page "
            "(asker's age band and gender, dates, department, reply, the site's explanation), "
            "with the similar Q&As and FAQ topics each page links to."),
        "conformsTo": CONFORMS_TO,
        "license": LICENSE,
        "url": manifest.get("start_url") or "https://doctorqna.com/en/",
        "version": manifest.get("version", "1.0.0"),
        "citeAs": citation(manifest),
        "datePublished": manifest.get("created_at"),
        "inLanguage": "en",
        "keywords": ["medical question answering", "doctor-patient", "health", "web crawl"],
        "creator": {"@type": "sc:Organization", "name": "qa-crawler"},
        "temporalCoverage": f"{crawl.get('started_at')}/{crawl.get('finished_at')}",
        "rai:dataCollection": (
            f"Crawled from {manifest.get('start_url') or 'doctorqna.com'} by qa-crawler "
            f"{manifest.get('tool_version', '')} between {crawl.get('started_at')} and "
            f"{crawl.get('finished_at')} (UTC), obeying robots.txt, following same-site links; "
            "each page parsed from what a reader sees, raw pages kept as WARC."),
        "rai:dataCollectionType": "Web Scraping",
        "rai:personalSensitiveInformation": (
            "Health questions published by the site under pseudonyms; these columns may hold "
            f"personal data: {personal}."
            + (f" Redacted in this release: {', '.join(sorted(redacted))}." if redacted else "")),
        "rai:dataLimitations": (
            "Replies are short answers to a written question, not diagnoses; the texts are the "
            "site's English translations; 'more_info' is the site's text, not the doctor's; "
            "rows the parser was unsure of are flagged in parse_issues."),
        "rai:dataUseCases": "Research on medical question answering and health communication.",
        "distribution": distribution,
        "recordSet": record_sets,
    }
