"""The sample site's HTML: the page chrome and the three Q&A page templates (portal, table,
semantic), from a page's data (model.py) to text. Pure functions; no state, no HTTP."""

from __future__ import annotations

import html
from urllib.parse import quote

from qa_crawler.demo import words as W
from qa_crawler.demo.model import DEPT_SLUGS, raw_date

SHARE_BASE = "https://doctorqna.com/en/article/"  # share widgets always name the public site

INLINE_STYLE = (
    ".qa-header h1{margin:1rem 0}.q-body p,.a-body p{line-height:1.7;margin:.25rem 0}"
    ".q-meta,.a-date{color:#777;font-size:.9rem}.a-head{font-weight:bold;margin-top:1.5rem}"
    ".more-info{background:#fafafa;padding:1rem;border-left:4px solid #0b6e99}"
    ".related-faq li{display:inline-block;margin:0 1rem .5rem 0}.related-faq .dept{color:#888}"
    ".breadcrumb{list-style:none;display:flex;gap:.5rem;padding:0}.sidebar h3{font-size:1.1rem}"
    ".footer{background:#222;color:#ccc;padding:2rem 1rem;font-size:.85rem}"
    ".footer a{color:#fff}.navbar-nav{display:flex;flex-wrap:wrap;gap:1rem;list-style:none}"
) * 2

# Analytics and app bootstrap code pads the real pages too; parsers must skip script text.
APP_SCRIPT = (
    "window.__APP__={locale:'en',features:{share:true,ads:true,login:false},"
    "routes:{article:'/en/article/:id',faq:'/en/faq/:slug'},build:'2024.12.3'};"
    "(function(){var q=[];function t(e,d){q.push([e,d,Date.now()]);if(q.length>20)q.shift();}"
    "document.addEventListener('click',function(ev){var a=ev.target.closest('a');"
    "if(a&&a.href&&a.href.indexOf('sharer')>0){t('share',a.href);}});"
    "window.__track=t;})();"
) * 6


def escape(text: str) -> str:
    return html.escape(text, quote=True)



# ----- page chrome shared by the non-article pages ------------------------------------------------

def _nav_links() -> str:
    return "".join(
        f'<li class="nav-item"><a class="nav-link" href="/en/department/{s}">{escape(d["name"])}</a></li>'
        for s, d in zip(DEPT_SLUGS, W.DEPARTMENTS)
    )


_NAV = _nav_links()


def shell(title: str, body: str, zh: str | None = None) -> str:
    zh_link = f'<li><a href="{zh}" hreflang="zh-Hant">\u4e2d\u6587</a></li>' if zh else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/app.css"></head><body>'
        '<nav class="navbar"><a class="navbar-brand" href="/"><img src="/static/logo.png" alt="DoctorQnA"></a>'
        f'<ul class="navbar-nav">{_NAV}<li><a href="/en/faq/">Health FAQ</a></li>{zh_link}</ul></nav>'
        f'<main class="container">{body}</main>'
        '<footer class="footer"><a href="/">Home</a> | <a href="/en/faq/">Health FAQ</a> | '
        '<a href="mailto:service@doctorqna.com">Contact us</a> | '
        '<a href="https://www.facebook.com/doctorqna">Facebook</a>'
        "<p>&copy; 2024 DoctorQnA. For reference only; not a substitute for a consultation.</p>"
        "</footer></body></html>\n"
    )


def simple_page(title: str, inner: str) -> str:
    return shell(title, f"<h1>{escape(title)}</h1>{inner}")


# ----- the three Q&A page templates ---------------------------------------------------------------

def _asker_line_parts(p: dict) -> tuple[str, str]:
    """The asker line before "Ask Date:" and the raw date, e.g. ('Mr. Huang, 20~29 year old female.', ...)."""
    desc = " ".join(x for x in (f"{p['age_band']} year old" if p["age_band"] else None,
                                p["asker_gender"]) if x)
    name = p["asker_name"]
    who = f"{name}, {desc}." if name and desc else f"{name or desc}."
    return who, raw_date(p["ask"])


def asker_line(p: dict) -> str:
    """The whole asker line of a page model, as the page shows it."""
    who, raw = _asker_line_parts(p)
    return f"{who} Ask Date: {raw}"


def _share_urls(qa_id: str, title: str) -> dict[str, str]:
    page = quote(SHARE_BASE + qa_id, safe="")
    return {
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={page}",
        "twitter": f"https://twitter.com/intent/tweet?url={page}&text={quote(title, safe='')}",
        "line": f"https://social-plugins.line.me/lineit/share?url={page}",
    }


def _render_portal(p: dict) -> str:
    """Bootstrap-style divs with nav, breadcrumb, ads, sidebar, hidden modal and scripts."""
    qid, slug = p["id"], DEPT_SLUGS[p["dept_index"]]
    share = _share_urls(qid, p["title"])
    who, raw = _asker_line_parts(p)
    name_html = ""
    if p["asker_name"]:
        rest = who[len(p["asker_name"]):]
        name_html = f'<span class="asker-name">{escape(p["asker_name"])}</span>{escape(rest)}'
    else:
        name_html = f'<span class="asker-info">{escape(who)}</span>'
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        f"<title>{escape(p['title'])} - {escape(p['dept'])}</title>\n",
        f'<link rel="canonical" href="/en/article/{qid}">\n',
        f'<link rel="alternate" hreflang="zh-Hant" href="/zh/article/{qid}">\n',
        '<link rel="stylesheet" href="/static/app.css">\n',
        f"<style>{INLINE_STYLE}</style>\n",
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
        "gtag('js',new Date());gtag('config','G-DQNA0001');</script>\n",
        '<script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?'
        'client=ca-pub-0000000000000000" crossorigin="anonymous"></script>\n</head>\n',
        '<body class="page-article">\n<nav class="navbar navbar-expand-lg">',
        '<a class="navbar-brand" href="/static/logo.png"><img src="/static/logo.png" alt="DoctorQnA"></a>',
        f'<ul class="navbar-nav"><li class="nav-item"><a class="nav-link" href="/">Home</a></li>{_NAV}',
        '<li class="nav-item"><a class="nav-link" href="/en/faq/">Health FAQ</a></li>',
        f'<li class="nav-item"><a class="nav-link" href="/zh/article/{qid}" hreflang="zh-Hant">\u4e2d\u6587</a></li></ul>',
        '<form class="search" action="/en/search" method="get"><input name="q"><button>Search</button></form>',
        "</nav>\n<div class=\"container\">\n",
        f'<ol class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/en/department/{slug}">{escape(p["dept"])}</a></li></ol>\n',
        '<div class="row"><div class="col-lg-8 main-col">\n',
        f'<div class="qa-header"><h1 class="qa-title">{escape(p["title"])}<span class="qa-dept"> - {escape(p["dept"])}</span></h1></div>\n',
        '<div class="share-bar"><span>Share to:</span> ',
        f'<a class="share share-fb" href="{escape(share["facebook"])}" aria-label="Facebook"><i class="icon-fb"></i></a>',
        f'<a class="share share-tw" href="{escape(share["twitter"])}" aria-label="Twitter"><i class="icon-tw"></i></a>',
        f'<a class="share share-line" href="{escape(share["line"])}" aria-label="LINE"><i class="icon-line"></i></a></div>\n',
        '<div class="ad-slot"><ins class="adsbygoogle" data-ad-slot="1234567890"></ins>'
        "<script>(adsbygoogle=window.adsbygoogle||[]).push({});</script></div>\n",
        '<div class="question-box">\n',
        f'<h2 class="q-subject">{escape(p["subject"])}</h2>\n<div class="q-body">',
        "".join(f"<p>{escape(x)}</p>\n" for x in p["question"]),
        f'</div>\n<div class="q-meta">{name_html} <span class="ask-date">Ask Date: {raw}</span></div>\n</div>\n',
        '<div class="answer-box">\n',
        f'<div class="a-head">Dr. <span class="doctor">{escape(p["doctor"])}</span> reply ',
        f'<a href="/en/department/{slug}">{escape(p["dept"])}</a></div>\n<div class="a-body">',
        "".join(f"<p>{escape(x)}</p>\n" for x in p["answer"]),
        f'</div>\n<div class="a-date">Reply Date: {raw_date(p["reply"])}</div>\n</div>\n',
        '<div class="ad-slot ad-inline">Advertisement</div>\n',
    ]
    if p["more_info"] is not None:
        out.append('<div class="more-info"><h3>More Info</h3>\n')
        out.extend(f"<p>{escape(x)}</p>\n" for x in p["more_info"])
        out.append("</div>\n")
    if p["similar"]:
        out.append('<div class="similar"><h3>Similar Q&amp;A</h3>\n')
        for s in p["similar"]:
            href = f"/en/article/{s['id']}"
            out.append(
                f'<div class="similar-item"><h4><a href="{href}">{escape(s["title"])}</a></h4>'
                f'<p class="excerpt">{escape(s["question_excerpt"])}</p>'
                f'<div class="similar-reply"><div class="who">Dr. {escape(s["doctor"])} reply {escape(s["dept"])}</div>'
                f'<p>{escape(s["answer_excerpt"])}</p></div>'
                f'<a class="read-more" href="{href}">[Read More] {escape(s["title"])}</a></div>\n'
            )
        out.append("</div>\n")
    if p["related"]:
        out.append('<div class="related-faq"><h3>Related FAQ</h3><ul>')
        for name, d, tslug in p["related"]:
            out.append(f'<li><a href="/en/faq/{tslug}">{escape(name)}</a>'
                       f'<div class="dept">({escape(W.DEPARTMENTS[d]["name"])})</div></li>')
        out.append("</ul></div>\n")
    out.append('</div>\n<aside class="col-lg-4 sidebar"><h3>Popular Questions</h3><ul>')
    out.extend(f'<li><a href="/en/article/{s["id"]}?utm_source=sidebar">{escape(s["title"])}</a></li>'
               for s in p["sidebar"])
    out.append('</ul><div class="ad-slot">Advertisement</div></aside>\n</div>\n</div>\n')
    out.append('<div class="modal d-none" id="login-modal"><p>Please log in to ask a question.</p>'
               '<a href="/en/private/login">Log in</a></div>\n')
    out.append(
        '<footer class="footer"><a href="/">Home</a> | <a href="/en/faq/">Health FAQ</a> | '
        '<a href="mailto:service@doctorqna.com">Contact us</a> | '
        '<a href="https://www.facebook.com/doctorqna">Facebook</a>'
        "<p>&copy; 2024 DoctorQnA. The content is for reference only and does not replace a "
        "medical consultation.</p></footer>\n"
    )
    out.append(f"<script>{APP_SCRIPT}</script>\n</body>\n</html>\n")
    return "".join(out)


def _render_table(p: dict) -> str:
    """Old-school table layout: lines separated by <br>, links relative to the document."""
    qid = p["id"]
    share = _share_urls(qid, p["title"])
    br = "<br>\n"
    out = [
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n',
        f"<title>{escape(p['title'])} - {escape(p['dept'])}</title>\n",
        '<link href="../../static/app.css" rel="stylesheet" type="text/css">\n</head>\n',
        '<body bgcolor="#ffffff" topmargin="0">\n',
        '<table width="100%" border="0" cellpadding="0" cellspacing="0" class="top"><tr>',
        '<td><a href="../../"><img src="../../static/logo.png" alt="DoctorQnA" border="0"></a></td>',
        '<td align="right"><a href="../../">Home</a> | <a href="../faq/">Health FAQ</a> | ',
        f'<a href="../../zh/article/{qid}">\u4e2d\u6587</a> | <a href="mailto:service@doctorqna.com">Contact</a></td>',
        "</tr></table>\n",
        '<table width="760" align="center" border="0" cellpadding="6" class="main">\n',
        f'<tr><td class="title"><font size="5"><b>{escape(p["title"])} - {escape(p["dept"])}</b></font></td></tr>\n',
        f'<tr><td class="share">Share to: <a href="{escape(share["twitter"])}">Twitter</a> '
        f'<a href="{escape(share["facebook"])}">Facebook</a></td></tr>\n',
        f'<tr><td class="q"><b>{escape(p["subject"])}</b>{br}{br}',
        br.join(escape(x) for x in p["question"]),
        f"{br}{br}{escape(asker_line(p))}</td></tr>\n",
        f'<tr><td class="a"><b>Dr. {escape(p["doctor"])} reply {escape(p["dept"])}</b>{br}{br}',
        br.join(escape(x) for x in p["answer"]),
        f"{br}{br}Reply Date: {raw_date(p['reply'])}</td></tr>\n",
    ]
    if p["more_info"] is not None:
        out.append(f'<tr><td class="more"><b>More Info</b>{br}{br}')
        out.append((br + br).join(escape(x) for x in p["more_info"]))
        out.append("</td></tr>\n")
    if p["similar"]:
        out.append(f"<tr><td><b>Similar Q&amp;A</b>{br}<table class=\"sim\" width=\"100%\">\n")
        for s in p["similar"]:
            out.append(
                f'<tr><td><b>{escape(s["title"])}</b>{br}{escape(s["question_excerpt"])}{br}{br}'
                f'Dr. {escape(s["doctor"])} reply {escape(s["dept"])}{br}{escape(s["answer_excerpt"])}{br}{br}'
                f'[Read More] <a href="../article/{s["id"]}">{escape(s["title"])}</a></td></tr>\n'
            )
        out.append("</table></td></tr>\n")
    if p["related"]:
        out.append(f"<tr><td class=\"faq\"><b>Related FAQ</b>{br}")
        out.append("".join(
            f'<a href="../faq/{tslug}">{escape(name)}</a>{br}({escape(W.DEPARTMENTS[d]["name"])}){br}'
            for name, d, tslug in p["related"]
        ))
        out.append("</td></tr>\n")
    out.append(
        "</table>\n<table width=\"760\" align=\"center\" class=\"foot\"><tr><td>"
        'Copyright &copy; DoctorQnA. All rights reserved. | <a href="../../">Home</a>'
        "</td></tr></table>\n"
        f"<script type=\"text/javascript\">{APP_SCRIPT[:600]}</script>\n</body>\n</html>\n"
    )
    return "".join(out)


def _render_semantic(p: dict) -> str:
    """HTML5 article/section markup with <time> elements and an inline Related FAQ list."""
    qid = p["id"]
    share = _share_urls(qid, p["title"])
    who, raw = _asker_line_parts(p)
    mail = f"mailto:?subject={quote(p['title'])}&body={quote(SHARE_BASE + qid)}"
    dept_nav = "".join(
        f'<li><a href="/en/department/{s}">{escape(d["name"])}</a></li>' for s, d in zip(DEPT_SLUGS, W.DEPARTMENTS)
    )
    out = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f"<title>{escape(p['title'])} - {escape(p['dept'])}</title>\n",
        f'<meta name="description" content="{escape(p["subject"])}">\n',
        f'<meta property="og:title" content="{escape(p["title"])}">\n',
        '<link rel="stylesheet" href="/static/app.css">\n</head>\n<body>\n',
        '<header class="site-header"><a href="/" class="logo"><img src="/static/logo.png" alt="DoctorQnA home"></a>\n',
        f'<nav aria-label="Departments"><ul>{dept_nav}<li><a href="/en/faq/">Health FAQ</a></li></ul></nav>\n',
        f'<a href="/zh/article/{qid}" lang="zh-Hant">\u7e41\u9ad4\u4e2d\u6587</a></header>\n',
        '<main>\n<article class="qa">\n<header>\n',
        f'<h1>{escape(p["title"])} - {escape(p["dept"])}</h1>\n',
        f'<div class="share">Share to: <a href="{escape(share["facebook"])}"><img src="/static/logo.png" alt=""></a> ',
        f'<a href="{escape(share["twitter"])}"><img src="/static/logo.png" alt=""></a> ',
        f'<a href="{escape(mail)}"><img src="/static/logo.png" alt=""></a></div>\n</header>\n',
        '<section class="question">\n',
        f"<h2>{escape(p['subject'])}</h2>\n",
        "".join(f"<p>{escape(x)}</p>\n" for x in p["question"]),
        f'<p class="asker">{escape(who)} Ask Date: <time datetime="{p["ask"].isoformat()}">{raw}</time></p>\n',
        "</section>\n<section class=\"reply\">\n",
        f"<h2>Dr. {escape(p['doctor'])} reply {escape(p['dept'])}</h2>\n",
        "".join(f"<p>{escape(x)}</p>\n" for x in p["answer"]),
        f'<footer>Reply Date: <time datetime="{p["reply"].isoformat()}">{raw_date(p["reply"])}</time></footer>\n',
        "</section>\n",
    ]
    if p["more_info"] is not None:
        out.append('<section class="more-info">\n<h2>More Info</h2>\n')
        out.extend(f"<p>{escape(x)}</p>\n" for x in p["more_info"])
        out.append("</section>\n")
    if p["similar"]:
        out.append('<section class="similar">\n<h2>Similar Q&amp;A</h2>\n')
        for s in p["similar"]:
            out.append(
                f'<article>\n<h3>{escape(s["title"])}</h3>\n<p>{escape(s["question_excerpt"])}</p>\n'
                f'<p><strong>Dr. {escape(s["doctor"])} reply {escape(s["dept"])}</strong></p>\n'
                f'<p>{escape(s["answer_excerpt"])}</p>\n'
                f'<p><a href="/en/article/{s["id"]}"><span>[Read More]</span> {escape(s["title"])}</a></p>\n'
                "</article>\n"
            )
        out.append("</section>\n")
    if p["related"]:
        out.append('<section class="related">\n<h2>Related FAQ</h2>\n<ul>\n')
        out.extend(
            f'<li><a href="/en/faq/{tslug}">{escape(name)}</a> <small>({escape(W.DEPARTMENTS[d]["name"])})</small></li>\n'
            for name, d, tslug in p["related"]
        )
        out.append("</ul>\n</section>\n")
    out.append(
        "</article>\n</main>\n"
        '<footer class="site-footer"><p>&copy; 2024 DoctorQnA \u00b7 '
        '<a href="mailto:service@doctorqna.com">Contact</a> \u00b7 <a href="/en/faq/">Health FAQ</a></p>'
        "</footer>\n</body>\n</html>\n"
    )
    return "".join(out)


_RENDERERS = (_render_portal, _render_table, _render_semantic)


def render_article(page: dict) -> str:
    """A Q&A page in its template."""
    return _RENDERERS[page["template"]](page)
