"""The embedded demo city, shaped like Foshan (Guangdong): five districts, 32 towns/streets.

District codes are the real administrative codes; town and village codes are invented
in the same 9- and 12-digit pattern. Population weights follow the 2010 census counts
of the districts (Foshan Statistical Yearbook 2011): Nanhai 2.59 M, Shunde 2.46 M,
Chancheng 1.10 M, Sanshui 0.62 M, Gaoming 0.42 M.
"""
from __future__ import annotations

CITY = ("440600", "佛山市 Foshan", "city")

# district code, name, population weight, towns/streets (name)
DISTRICTS: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("440604", "禅城区 Chancheng", 1.10, ("祖庙 Zumiao", "石湾镇 Shiwanzhen", "张槎 Zhangcha", "南庄 Nanzhuang")),
    ("440605", "南海区 Nanhai", 2.59, ("桂城 Guicheng", "九江 Jiujiang", "西樵 Xiqiao", "丹灶 Danzao",
                                     "狮山 Shishan", "大沥 Dali", "里水 Lishui")),
    ("440606", "顺德区 Shunde", 2.46, ("大良 Daliang", "容桂 Ronggui", "伦教 Lunjiao", "勒流 Leliu",
                                     "陈村 Chencun", "均安 Jun'an", "杏坛 Xingtan", "龙江 Longjiang",
                                     "乐从 Lecong", "北滘 Beijiao")),
    ("440607", "三水区 Sanshui", 0.62, ("西南 Xinan", "云东海 Yundonghai", "白坭 Baini", "乐平 Leping",
                                      "芦苞 Lubao", "大塘 Datang", "南山 Nanshan")),
    ("440608", "高明区 Gaoming", 0.42, ("荷城 Hecheng", "杨和 Yanghe", "明城 Mingcheng", "更合 Genghe")),
)

# Towns whose second births within policy are planted to jump to SRB ~125 in the last
# year of the demo (see data/demo/README.md).
PLANTED_PARITY_2_TOWNS: tuple[str, ...] = ("乐从 Lecong", "丹灶 Danzao")
