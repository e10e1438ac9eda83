"""The organisation: Hanoi's unit tree and its officials, with the latent traits that drive
the generated behaviour (diligence for tasks, courtesy for ratings)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from etl.demo import names
from etl.demo.scales import MONTHS, Scale

# Relative head-count of a unit by its role; officials are shared out in proportion.
WEIGHTS = {
    "thanh_pho": 6, "so_nganh": 4, "lead_su_nghiep": 3, "phuong": 3, "xa": 3,
    "phong_ban": 8, "mot_cua": 6, "branch": 10, "don_vi_su_nghiep": 40, "truong_hoc_thpt": 80,
    "benh_vien": 500, "tram_y_te": 10, "MN": 28, "TH": 40, "THCS": 42,
}
# Working area of a unit kind, which picks the task titles.
AREA = {"mot_cua": "one_stop", "truong_hoc": "school", "benh_vien": "health", "tram_y_te": "health"}
AREAS = tuple(names.TASK_TITLES)
LEADERSHIP = {"thanh_pho", "so_nganh", "phuong", "xa"}
MAX_COUNTERS = 99  # counter ids are Q01..Q99 (etl/demo/ratings.py)


@dataclass
class Org:
    """Units and officials as parallel arrays (index = position in the written files)."""

    unit_ids: list[str]
    unit_names: list[str]
    unit_kinds: list[str]
    unit_parent: np.ndarray        # index of the parent unit, -1 for the root
    unit_top: np.ndarray           # index of the level-1 unit (department/commune), 0 for the root
    unit_head: np.ndarray          # official index of the head
    official_ids: list[str]
    full_names: list[str]
    positions: list[str]
    off_unit: np.ndarray
    is_head: np.ndarray
    is_deputy: np.ndarray
    active: np.ndarray
    last_month: np.ndarray         # last month index with activity (inactive officials left)
    area: np.ndarray               # index into AREAS
    diligence: np.ndarray          # logit shift of on-time completion
    courtesy: np.ndarray           # shift of citizens' satisfaction (one-stop staff only)
    task_rate: np.ndarray          # multiplier of the monthly task count
    counter: np.ndarray            # counter number at the one-stop unit (0 = not at a counter)

    @property
    def one_stop(self) -> np.ndarray:
        kinds = np.array(self.unit_kinds)
        return kinds[self.off_unit] == "mot_cua"

    def supervisor(self) -> np.ndarray:
        """Who gives each official's final evaluation: the unit head, or for a head the
        parent unit's head (-1 for the city's head)."""
        sup = self.unit_head[self.off_unit].copy()
        parent = self.unit_parent[self.off_unit]
        heads = self.is_head
        sup[heads] = np.where(parent[heads] >= 0, self.unit_head[np.maximum(parent[heads], 0)], -1)
        return sup

    def reviewer(self) -> np.ndarray:
        """Who reviews a staff member's self-assessment: a deputy of the unit, else the head."""
        first_deputy = np.full(len(self.unit_ids), -1)
        dep = np.flatnonzero(self.is_deputy)
        first_deputy[self.off_unit[dep[::-1]]] = dep[::-1]   # last write wins: the first deputy
        rev = first_deputy[self.off_unit]
        alone = (rev < 0) | (rev == np.arange(len(rev)))   # nobody reviews themselves
        return np.where(alone, self.unit_head[self.off_unit], rev)


def ascii_code(text: str) -> str:
    """'Văn Miếu - Quốc Tử Giám' -> 'VANMIEUQUOCTUGIAM' (for unit ids)."""
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9]", "", plain).upper()


def _head_title(kind: str, name: str, dept_head: str = "") -> str:
    if kind == "thanh_pho":
        return "Chủ tịch UBND Thành phố"
    if kind in ("phuong", "xa"):
        return "Chủ tịch UBND " + ("phường" if kind == "phuong" else "xã")
    if dept_head:
        return dept_head
    for prefix, title in (("Văn phòng Đăng ký", "Giám đốc"), ("Văn phòng", "Chánh Văn phòng"),
                          ("Phòng", "Trưởng phòng"), ("Ban", "Trưởng ban"), ("Khoa", "Trưởng khoa"),
                          ("Chi cục", "Chi cục trưởng"), ("Chi nhánh", "Giám đốc Chi nhánh"),
                          ("Bộ phận", "Trưởng Bộ phận Một cửa"), ("Trường", "Hiệu trưởng"),
                          ("Trạm", "Trạm trưởng"), ("Trung tâm", "Giám đốc Trung tâm"),
                          ("Bệnh viện", "Giám đốc Bệnh viện")):
        if name.startswith(prefix):
            return title
    return "Giám đốc"


def build_units(scale: Scale, rng: np.random.Generator):
    """The unit tree as rows (unit_id, parent index, name, kind, weight key, head title)."""
    rows = [(names.ROOT_ID, -1, names.ROOT_NAME, "thanh_pho", "thanh_pho", _head_title("thanh_pho", ""))]

    def add(uid, parent, name, kind, weight, head=""):
        rows.append((uid, parent, name, kind, weight, _head_title(kind, name, head)))
        return len(rows) - 1

    for code, name, kind, head, offices, one_stop, service in names.DEPARTMENTS:
        if scale.departments is not None and code not in scale.departments:
            continue
        uid = f"{names.ROOT_ID}.{code}"
        d = add(uid, 0, name, kind, "so_nganh" if kind == "so_nganh" else "lead_su_nghiep", head)
        if code == "TTPVHCC":
            for b in range(1, scale.branches + 1):
                add(f"{uid}.CN{b}", d, f"Chi nhánh số {b}", "mot_cua", "branch")
            continue
        add(f"{uid}.VP", d, "Văn phòng", "phong_ban", "phong_ban")
        for k, office in enumerate(offices[:scale.dept_offices], start=1):
            add(f"{uid}.P{k}", d, office, "phong_ban", "phong_ban")
        if one_stop:
            add(f"{uid}.MC", d, "Bộ phận Một cửa", "mot_cua", "mot_cua")
        if scale.schools:
            for k, unit in enumerate(service, start=1):
                if unit.startswith("Bệnh viện"):
                    add(f"{uid}.BV{k:02d}", d, unit, "benh_vien", "benh_vien")
                elif unit.startswith("Trường"):
                    add(f"{uid}.THPT{k:02d}", d, unit, "truong_hoc", "truong_hoc_thpt")
                else:
                    add(f"{uid}.DV{k:02d}", d, unit, "don_vi_su_nghiep", "don_vi_su_nghiep")

    places = [("phuong", "P", "Phường", w) for w in names.WARDS if scale.wards is None or w in scale.wards]
    places += [("xa", "X", "Xã", c) for c in names.COMMUNES if scale.communes is None or c in scale.communes]
    for kind, letter, label, place in places:
        uid = f"{names.ROOT_ID}.{letter}-{ascii_code(place)}"
        c = add(uid, 0, f"{label} {place}", kind, kind)
        for suffix, office, okind in names.COMMUNE_OFFICES:
            if suffix not in scale.commune_offices:
                continue
            if suffix == "KT" and kind == "phuong":
                office = names.WARD_KT_NAME
            add(f"{uid}.{suffix}", c, office, "tram_y_te" if suffix == "TYT" else okind,
                "tram_y_te" if suffix == "TYT" else okind)
        if scale.schools:
            for code, label_school in names.SCHOOL_LEVELS:
                count = int(rng.integers(1, 4 if code != "THCS" else 3))
                for k in range(1, count + 1):
                    letter_k = "ABCD"[k - 1] if count > 1 else ""
                    add(f"{uid}.{code}{k}", c, f"{label_school} {place} {letter_k}".strip(),
                        "truong_hoc", code)
    return rows


def _share(total: int, weights: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Split `total` officials over units: each gets its minimum, the rest by weight
    (largest remainder, ties by position, so the split is exact and deterministic)."""
    rest = total - int(minimum.sum())
    if rest < 0:
        raise ValueError(f"{total} officials are too few for {len(weights)} units")
    quota = rest * weights / weights.sum()
    counts = np.floor(quota).astype(np.int64)
    left = rest - int(counts.sum())
    order = np.lexsort((np.arange(len(quota)), -(quota - counts)))
    counts[order[:left]] += 1
    return minimum + counts


def _deputies(kind: str, size: int) -> int:
    """Deputies of a unit: the whole leadership board, else about one per eight staff."""
    if kind in LEADERSHIP:
        return min(size - 1, 4)
    if size < 4:
        return 0
    return min(3, max(1, round(size / 8)))


def _gender_female_share(kind: str) -> float:
    return {"truong_hoc": 0.78, "benh_vien": 0.65, "tram_y_te": 0.7, "mot_cua": 0.62}.get(kind, 0.48)


def _names(rng: np.random.Generator, female: np.ndarray) -> list[str]:
    """Vietnamese full names: family + middle + given, middle and given by gender."""
    n = len(female)
    fam_names = [f for f, _ in names.FAMILY]
    fam_w = np.array([w for _, w in names.FAMILY], dtype=float)
    fam = rng.choice(len(fam_names), n, p=fam_w / fam_w.sum())
    mid_m_p = np.full(len(names.MIDDLE_MALE), 0.7 / (len(names.MIDDLE_MALE) - 1))
    mid_m_p[0] = 0.3                                   # "Văn" is the common male middle name
    mid_f_p = np.full(len(names.MIDDLE_FEMALE), 0.55 / (len(names.MIDDLE_FEMALE) - 1))
    mid_f_p[0] = 0.45                                  # "Thị" likewise for women
    mid_m = rng.choice(len(names.MIDDLE_MALE), n, p=mid_m_p)
    mid_f = rng.choice(len(names.MIDDLE_FEMALE), n, p=mid_f_p)
    giv_m = rng.integers(0, len(names.GIVEN_MALE), n)
    giv_f = rng.integers(0, len(names.GIVEN_FEMALE), n)
    out = []
    for i in range(n):
        if female[i]:
            out.append(f"{fam_names[fam[i]]} {names.MIDDLE_FEMALE[mid_f[i]]} {names.GIVEN_FEMALE[giv_f[i]]}")
        else:
            out.append(f"{fam_names[fam[i]]} {names.MIDDLE_MALE[mid_m[i]]} {names.GIVEN_MALE[giv_m[i]]}")
    return out


def build_org(scale: Scale, seed: int) -> Org:
    """Units, officials and their latent traits, all from `seed`."""
    rng = np.random.default_rng([seed, 1])
    rows = build_units(scale, rng)
    n_units = len(rows)
    unit_ids = [r[0] for r in rows]
    parent = np.array([r[1] for r in rows], dtype=np.int64)
    kinds = [r[3] for r in rows]
    top = np.zeros(n_units, dtype=np.int64)
    for u in range(1, n_units):
        top[u] = u if parent[u] == 0 else top[parent[u]]

    # Units of one kind differ in size (noise), so that per-unit rates differ in precision too.
    weights = np.array([WEIGHTS[r[4]] for r in rows], dtype=float) * rng.lognormal(0, 0.35, n_units)
    minimum = np.array([3 if k == "mot_cua" else 2 for k in kinds], dtype=np.int64)
    sizes = _share(scale.officials, weights, minimum)
    off_unit = np.repeat(np.arange(n_units), sizes)
    n = len(off_unit)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(n) - starts[off_unit]              # position inside the unit; 0 = head

    positions, is_deputy = [], np.zeros(n, dtype=bool)
    staff_pick = rng.random(n)
    staff_cum = {k: np.cumsum([w for _, w in v], dtype=float) / sum(w for _, w in v)
                 for k, v in names.STAFF.items()}
    for i in range(n):
        u = off_unit[i]
        kind, head = kinds[u], rows[u][5]
        if rank[i] == 0:
            positions.append(head)
        elif rank[i] <= _deputies(kind, int(sizes[u])):
            positions.append("Phó " + head)
            is_deputy[i] = True
        else:
            pick = int(np.searchsorted(staff_cum[kind], staff_pick[i], side="right"))
            positions.append(names.STAFF[kind][pick][0])

    female = rng.random(n) < np.array([_gender_female_share(kinds[u]) for u in off_unit])
    full_names = _names(rng, female)
    is_head = rank == 0

    # A few officials have left (inactive): their activity stops at a random month.
    active = np.ones(n, dtype=bool)
    leavers = np.flatnonzero(~is_head & (rng.random(n) < 0.006))
    if len(leavers) == 0:
        leavers = np.flatnonzero(~is_head)[-1:]         # at least one, so every scale has one
    active[leavers] = False
    last_month = np.full(n, MONTHS - 1, dtype=np.int64)
    last_month[leavers] = rng.integers(2, MONTHS - 1, len(leavers))

    # Latent traits: part unit culture, part the person.
    unit_diligence = rng.normal(0, 0.35, n_units) + rng.normal(0, 0.45, n_units)[top]
    diligence = unit_diligence[off_unit] + rng.normal(0, 0.6, n)
    courtesy = (rng.normal(0, 0.35, n_units)[off_unit] + rng.normal(0, 0.35, n))
    task_rate = rng.gamma(6.0, 1 / 6.0, n) * np.where(is_head, 0.6, np.where(is_deputy, 0.8, 1.0))
    area_of_kind = {k: AREAS.index(AREA.get(k, "admin")) for k in set(kinds)}
    area = np.array([area_of_kind[kinds[u]] for u in off_unit], dtype=np.int64)

    one_stop = np.array([kinds[u] == "mot_cua" for u in off_unit])
    # Heads of one-stop units do not sit at a counter; past Q99 (four times a city's staff) the
    # rest work in the back office.
    counter = np.where(one_stop & ~is_head & (rank <= MAX_COUNTERS), rank, 0)

    return Org(
        unit_ids=unit_ids, unit_names=[r[2] for r in rows], unit_kinds=kinds, unit_parent=parent,
        unit_top=top, unit_head=starts.astype(np.int64),
        official_ids=[f"CB{i + 1:06d}" for i in range(n)], full_names=full_names, positions=positions,
        off_unit=off_unit, is_head=is_head, is_deputy=is_deputy, active=active, last_month=last_month,
        area=area, diligence=diligence, courtesy=courtesy, task_rate=task_rate, counter=counter,
    )
