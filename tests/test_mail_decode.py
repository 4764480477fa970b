"""Mail decoding without a database: every sample of tests/data/mail (SOURCE.md) read as a mail client reads it.

Checked over the whole corpus: no exception, a subject, readable subject, sender
and body (no U+FFFD or undecoded bytes where a correct decoding exists), no
file kept with 0 bytes. Then the named cases: GB2312 labels holding GBK
characters, charset aliases, raw 8-bit headers, mislabelled and unlabelled
parts, unknown charsets, RFC 2047/2231 names, missing subjects, HTML-only mail,
nested parts, forwarded messages, S/MIME, and the headers the loop checks use.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from workflows.intake import mailparse, mailtext, smime

CORPUS = Path(__file__).parent / "data" / "mail"
SAMPLES = sorted(p.name for p in CORPUS.iterdir() if p.suffix == ".eml")
#: Samples whose own bytes are damaged (literal U+FFFD, a cut UTF-8 sequence): no correct decoding exists.
DAMAGED = {"mail-must_supply_encoding.eml", "flanker-mailformed-headers.eml"}


def read(name: str) -> mailparse.Mail:
    return mailparse.parse((CORPUS / name).read_bytes())


def readable(text: str) -> bool:
    return "\ufffd" not in text and not any("\udc80" <= c <= "\udcff" for c in text)


def b64(text: str, charset: str) -> str:
    return base64.b64encode(text.encode(charset)).decode()


def test_the_corpus_is_a_few_dozen_real_samples():
    real = [n for n in SAMPLES if not n.startswith(("built-", "derived-"))]
    assert len(real) >= 36 and (CORPUS / "SOURCE.md").is_file()
    assert sum((CORPUS / n).stat().st_size for n in SAMPLES) < 2 * 1024 * 1024


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_is_read(name):
    mail = read(name)
    assert mail.subject.strip()
    if name not in DAMAGED:
        assert readable(mail.subject) and readable(mail.sender) and readable(mail.body), (mail.subject, mail.sender)
    for item in mail.files:
        assert item[0] and (item[2] or item.problem), item[:2]  # a name, and bytes or the reason there are none


@pytest.mark.parametrize("name, subject, sender, body", [
    ("built-gb2312-label-gbk-name.eml", "冰箱不制冷，请尽快上门", "梁祐晟", "镕、祐、喆 都是 GBK 字"),
    ("flanker-charset-gb2312.eml", "提示：您的企业成员暂时无法登录邮件客户端", "腾讯企业邮箱", "系统检测到邮箱账号"),
    ("built-x-gbk-8bit.eml", "空调漏水", "王小明", "空调室内机一直滴水"),
    ("built-big5-raw-headers.eml", "洗衣機無法啟動", "陳大文", "請派人檢查"),
    ("built-utf8-8bit-undeclared.eml", "热水器报错 E1", "李雷", "无法加热"),
    ("built-unknown-charset.eml", "电视没有声音", "", "已经检查过静音设置"),
    ("built-latin1-label-gbk-body.eml", "order", "", "请帮忙查一下物流信息"),
    ("phpimap-gbk_charset.eml", "Nuu", "", "Hi"),
    ("phpimap-ks_c_5601-1987_headers.eml", "RE: 회원님께 Ersi님이 메시지를 보냈습니다.", "김 현진", ""),
    ("mail-ks_c_5601-1987.eml", "test", "", ""),
    ("mail-utf8_headers.eml", "Säying Hello", "Jöhn Doe", ""),
    ("flanker-from-encoding.eml", "Re: running server as root (Was: Re: PUT method)", "Ingo Lütkebohle", ""),
    ("mail-raw_email_with_partially_quoted_subject.eml", 'Re: Test: "漢字" mid "漢字" tail', "Jamis Buck", ""),
    ("phpimap-mixed_filename.eml", "Свежий прайс-лист", "Прайсы || ПартКом", ""),
    ("phpimap-unknown_encoding.eml", "test", "", "MyPlain"),
])
def test_charsets_are_read_as_a_mail_client_reads_them(name, subject, sender, body):
    mail = read(name)
    assert (mail.subject, mail.sender) == (subject, sender)
    assert body in mail.body


@pytest.mark.parametrize("label, codec", [
    ("GB2312", "gb18030"), ("gbk", "gb18030"), ("x-gbk", "gb18030"), ("gb_2312-80", "gb18030"), ("cp936", "gb18030"),
    ("big5", "big5hkscs"), ("x-big5", "big5hkscs"), ("ks_c_5601-1987", "cp949"), ("euc-kr", "cp949"),
    ("utf8", "utf_8"), ('"UTF-8"', "utf_8"), ("unicode-1-1-utf-7", "utf_7"), ("shift_jis", "cp932"),
    ("x-unknown", None), ("unknown-8bit", None), ("", None), ("no-such-charset", None),
    ("base64", None), ("rot13", None), ("unicode_escape", None), ("idna", None),  # codecs, but no charsets
])
def test_charset_labels(label, codec):
    assert mailtext.codec_for(label) == codec


def test_a_gbk_character_under_a_gb2312_label_and_cut_across_two_words():
    name = "梁祐晟".encode("gbk")
    first, second = base64.b64encode(name[:3]).decode(), base64.b64encode(name[3:]).decode()
    assert mailtext.header(f"=?GB2312?B?{first}?=\r\n =?gb2312?B?{second}?= <a@x>") == "梁祐晟 <a@x>"
    assert mailtext.header("=?utf-8?q?caf=C3=A9_au_lait?= =?iso-8859-1?Q?=E9t=E9?= x") == "café au laitété x"


def test_unknown_and_wrong_charsets_fall_back_instead_of_refusing():
    gbk = "您好，冰箱门关不上，请尽快派人来修理。".encode("gbk")
    assert mailtext.decode(gbk, "x-unknown")[0] == gbk.decode("gbk")
    assert mailtext.decode(gbk, "no-such-charset")[0] == gbk.decode("gbk")
    assert mailtext.decode(gbk, "utf-8")[0] == gbk.decode("gbk")  # mislabelled
    assert mailtext.decode("Grüße aus München".encode("latin-1"), "iso-8859-1") == ("Grüße aus München", None)
    text, issue = mailtext.decode(b"\xff\xfe\xfd\x80\x81", "utf-8")
    assert text and issue  # whatever it is, a text and a word on how it was read


def test_filenames_rfc2231_and_rfc2047_in_chinese_charsets_and_an_attachment_only_mail():
    mail = read("built-rfc2231-gbk-filename-attachment-only.eml")
    assert [(f[0], f[1]) for f in mail.files] == [("发票-祐.pdf", "application/pdf"), ("说明.txt", "text/plain")]
    assert mail.body == "" and mail.subject == "invoice"
    assert [f[0] for f in read("mail-attachment_nonascii_filename.eml").files] == ["ciële.txt"]


def test_no_subject_takes_the_first_line_of_the_body_else_a_stand_in():
    mail = read("built-no-subject.eml")
    assert mail.subject == mail.body.splitlines()[0] and mail.subject.startswith("烤箱温度一直上不去")
    assert mailparse.stand_in_subject("长" * 80 + "\n第二行") == "长" * 60 + "…"
    assert mailparse.stand_in_subject("\n\n  第一行  \n第二行") == "第一行"
    assert mailparse.stand_in_subject("") == "(无主题)"
    assert read("built-rfc2231-gbk-filename-attachment-only.eml").subject == "invoice"


def test_html_only_mail_is_readable_text_without_scripts_with_links():
    mail = read("built-html-only-zh.eml")
    assert "扫地机器人找不到充电座。" in mail.body and "* 型号 X1" in mail.body
    assert "[这里](https://example.cn/manual)" in mail.body
    assert "alert" not in mail.body and "color" not in mail.body
    assert mailtext.html_text("<div>第二行<br>第三行</div><style>p{}</style>") == "第二行\n第三行"


def test_an_empty_plain_alternative_gives_way_to_the_html():
    raw = (b"From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n"
           b"--A\r\nContent-Type: text/plain\r\n\r\n\r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           + "<p>只有网页版</p>".encode() + b"\r\n--A--\r\n")
    assert mailparse.parse(raw).body == "只有网页版"


def test_nested_parts_forwarded_messages_and_inline_images():
    four = read("phpimap-four_nested_emails.eml")
    assert [f[0] for f in four.files] == ["2-second-email.eml"] and four.files[0][2].count(b"Subject:") >= 2
    raw = (CORPUS / "mail-attachment_message_rfc822_inline_image.eml").read_bytes()
    mail = mailparse.parse(raw)
    image, forward = mail.files
    assert image.inline and image[1] == "image/png" and image[2].startswith(b"\x89PNG")
    assert forward[:2] == ("Testmail.eml", "message/rfc822") and forward[2] in raw and not forward.inline
    zh = read("built-forward-rfc822-zh.eml")
    assert zh.files[0][0] == "投诉_ 维修超时.eml" and zh.body == "请处理下面这封客户邮件。"


def test_empty_parts_are_named_not_kept():
    mail = read("built-inline-image-empty-part.eml")
    assert [(f[0], f.inline, f.problem) for f in mail.files] == [("image-1.png", True, ""),
                                                                  ("empty.pdf", False, "empty (0 bytes)")]
    assert [f[0] for f in mail.refused] == ["empty.pdf"]


@pytest.mark.parametrize("name, signature", [
    ("flanker-signed.eml", "smime.p7s"), ("built-smime-detached.eml", "smime.p7s"),
    ("built-smime-opaque-der.eml", "smime.p7m"), ("built-smime-opaque-ber.eml", "smime.p7m"),
    ("mail-sig_only_email.eml", "signature.asc"),
])
def test_signed_content_is_unwrapped_and_the_signature_named(name, signature):
    mail = read(name)
    assert [(f[0], f[2], "signature, not checked" in f.problem) for f in mail.refused] == [(signature, b"", True)]
    if name.startswith("built-"):
        assert mail.body == "您好，空调不制冷，请派人维修。"


def test_smime_reader_refuses_what_is_not_signed_data():
    assert smime.signed_content(b"") is None
    assert smime.signed_content(b"\x30\x80" * 5000) is None  # endless indefinite lengths
    assert smime.signed_content(bytes(range(256))) is None


def test_a_message_bomb_of_nested_parts_is_cut():
    raw = b"From: a@example.com\r\nSubject: bomb\r\n"
    for depth in range(60):
        raw += f"Content-Type: multipart/mixed; boundary=b{depth}\r\n\r\n--b{depth}\r\n".encode()
    mail = mailparse.parse(raw + b"Content-Type: text/plain\r\n\r\ndeep\r\n")
    assert [f.problem for f in mail.files] == ["nested too deep, not read"]


def test_ids_and_the_headers_of_automatic_mail_are_kept():
    mail = read("mail-attachment_with_encoded_name.eml")
    assert mail.message_id == "<e85734b90505081209eaaa17b@mail.gmail.com>"
    assert mail.in_reply_to == mail.references == "<F6E2D0B4-CC35-4A91-BA4C-C7C712B10C13@mac.com>"
    report = read("mail-report_422.eml")
    assert report.auto_headers["content-type"].startswith("multipart/report")
    raw = (f"From: =?gb2312?B?{b64('自动回复', 'gbk')}?= <a@example.cn>\r\nSubject: x\r\n"
           "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\nPrecedence: bulk\r\nReturn-Path: <>\r\n"
           "Auto-Reply-From: a@example.cn\r\nReferences: <1@x>\r\n <2@x>\r\n\r\nhi\r\n")
    mail = mailparse.parse(raw.encode())
    assert mail.auto_headers == {"auto-submitted": "auto-replied", "x-autoreply": "yes", "precedence": "bulk",
                                 "return-path": "<>", "auto-reply-from": "a@example.cn", "content-type": "text/plain"}
    assert mail.references == "<1@x> <2@x>" and mail.sender == "自动回复"


def test_the_sender_check_stays_strict():
    assert not mailparse.parse(b"From: a@x.com <evil@y.com>\r\nSubject: s\r\n\r\nhi").sole_sender
    assert not mailparse.parse(b"From: a@x.com, b@y.com\r\nSubject: s\r\n\r\nhi").sole_sender
    mail = mailparse.parse(b'From: "a@x.com" <evil@y.com>\r\nSubject: s\r\n\r\nhi')
    assert mail.sole_sender and mail.address == "evil@y.com" and mail.sender == "a@x.com"
    assert mailparse.parse(b"Subject: s\r\n\r\nhi").address == ""
