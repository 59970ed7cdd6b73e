"""Interface languages: English and Simplified Chinese, chosen by Accept-Language
(RFC 9110 §12.5.4) unless the user picked one (cookie ``lang``).

Messages are written in English in the templates and code; ``ZH_CN`` maps each to its
Chinese text. A message without a translation shows in English.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["LANGUAGES", "choose_language", "translator"]

LANGUAGES = ("en", "zh-CN")

ZH_CN: dict[str, str] = {
    "Sign in": "登录",
    "Sign out": "退出",
    "Sign out everywhere": "在所有设备上退出",
    "Address": "邮箱地址",
    "Password": "密码",
    "Wrong address or password.": "地址或密码错误。",
    "Use the https address to sign in from this network.": "请通过 https 地址从此网络登录。",
    "Folders": "文件夹",
    "Inbox": "收件箱",
    "INBOX": "收件箱",
    "Sent": "已发送",
    "Drafts": "草稿",
    "Trash": "已删除",
    "Junk": "垃圾邮件",
    "Archive": "归档",
    "unread": "未读",
    "From": "发件人",
    "To": "收件人",
    "Cc": "抄送",
    "Bcc": "密送",
    "Subject": "主题",
    "Date": "日期",
    "Size": "大小",
    "Older": "更早",
    "Newest": "最新",
    "This folder is empty.": "此文件夹为空。",
    "Write": "写邮件",
    "Reply": "回复",
    "Reply all": "全部回复",
    "Forward": "转发",
    "Send": "发送",
    "Message": "正文",
    "Attachments": "附件",
    "Attach files": "添加附件",
    "Record a voice message": "录制语音消息",
    "Record a video message": "录制视频消息",
    "Stop recording": "停止录制",
    "Recording…": "正在录制…",
    "Download": "下载",
    "Show remote images": "显示远程图片",
    "Remote images are blocked.": "已阻止远程图片。",
    "Raw source": "原始邮件",
    "Move to": "移动到",
    "Move": "移动",
    "Delete": "删除",
    "Mark read": "标为已读",
    "Mark unread": "标为未读",
    "Flag": "加星标",
    "Unflag": "取消星标",
    "Search": "搜索",
    "Search in": "搜索范围",
    "All folders": "所有文件夹",
    "Everywhere in the message": "邮件全文",
    "Body": "正文",
    "No message matches.": "没有匹配的邮件。",
    "Select": "选择",
    "flagged": "已加星标",
    "attachment": "附件",
    "Your sessions": "您的会话",
    "This session": "当前会话",
    "End": "结束",
    "Started": "开始于",
    "Last seen": "最近活动",
    "Sent.": "已发送。",
    "Page not found.": "页面不存在。",
    "Something went wrong on the server. Nothing was lost; try again.": "服务器出错。没有丢失任何内容，请重试。",
    "The form has expired or came from another site. Go back, reload the page and try again.": "表单已过期或来自其他网站。请返回、刷新页面后重试。",
    "A line break is not allowed in this field.": "此字段中不允许换行。",
    "No recipient.": "没有收件人。",
    "Back": "返回",
    "Language": "语言",
    "Messages": "邮件",
    "(no subject)": "（无主题）",
    "Webmail": "网页邮箱",
    "New folder": "新建文件夹",
    "Create": "创建",
    "Skip to the messages": "跳到邮件列表",
    "Live updates on": "实时更新已开启",
    "Save draft": "保存草稿",
    "You cannot send as this address.": "您不能以此地址发送邮件。",
    "You have sent as many messages as allowed in one hour; try again later.": "您在一小时内发送的邮件已达上限，请稍后再试。",
    "Too many recipients for one message.": "一封邮件的收件人过多。",
    "This server does not send mail to other domains; remove the recipients outside this server.": "此服务器不向其他域发送邮件；请删除本服务器以外的收件人。",
    "Group conversations": "按会话分组",
    "One line per message": "每封邮件一行",
    "Folder": "文件夹",
    "Rename or move to": "重命名或移动到",
    "Rename": "重命名",
    "Delete folder": "删除文件夹",
    "Since": "起始日期",
    "Before": "截止日期",
    "Draft saved.": "草稿已保存。",
    "Edit draft": "编辑草稿",
}


def choose_language(accept_language: str | None, chosen: str | None = None) -> str:
    """"zh-CN" for a browser that prefers Chinese (zh, zh-CN, zh-Hans...), else "en"."""
    if chosen in LANGUAGES:
        return chosen
    best: tuple[float, str] = (0.0, "en")
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        tag = tag.strip().lower()
        language = "zh-CN" if tag.startswith("zh") and not tag.startswith(("zh-tw", "zh-hk", "zh-hant")) else (
            "en" if tag.startswith("en") else ""
        )
        score = quality - position * 1e-6  # the earlier of equal weights wins
        if language and score > best[0]:
            best = (score, language)
    return best[1]


def translator(language: str) -> Callable[[str], str]:
    if language == "zh-CN":
        return lambda text: ZH_CN.get(text, text)
    return lambda text: text
