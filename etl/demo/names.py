"""Vietnamese reference data for the demo: names, Hanoi's units, positions, texts.

Kept apart from the generator so that the wording can be reviewed by someone who knows
the administration without reading numpy code. All strings are NFC (checked in tests).
"""
from __future__ import annotations

# --- People -------------------------------------------------------------------------
# Family names with rough frequencies in northern Viet Nam (percent).
FAMILY = (
    ("Nguyễn", 36), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Vũ", 4.5),
    ("Phan", 3), ("Đặng", 2.5), ("Bùi", 2.5), ("Đỗ", 2.5), ("Hồ", 1.2), ("Ngô", 1.5),
    ("Dương", 1.2), ("Lý", 0.6), ("Đào", 1.2), ("Đinh", 1.2), ("Trịnh", 1.2),
    ("Lương", 0.8), ("Mai", 0.6), ("Tạ", 0.6), ("Cao", 0.6), ("Hà", 0.8), ("Kiều", 0.4),
    ("Khuất", 0.3), ("Nghiêm", 0.3), ("Chu", 0.5), ("Lưu", 0.5), ("Tô", 0.4),
    ("Phùng", 0.5), ("Đoàn", 0.8), ("Vương", 0.3), ("Triệu", 0.3), ("Quách", 0.2),
)
MIDDLE_MALE = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Xuân", "Tuấn", "Mạnh",
               "Ngọc", "Trung", "Hoàng", "Anh", "Công", "Duy", "Thế", "Đình", "Tiến",
               "Việt", "Hải", "Trọng", "Bá", "Khắc", "Quốc")
MIDDLE_FEMALE = ("Thị", "Thu", "Thanh", "Ngọc", "Minh", "Phương", "Hồng", "Thúy", "Kim",
                 "Mai", "Lan", "Bích", "Hải", "Diệu", "Khánh", "Thùy", "Quỳnh", "Hoài",
                 "Thị Thu", "Thị Hồng", "Thị Thanh", "Thị Minh")
GIVEN_MALE = ("Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Hải", "Long", "Sơn", "Thắng",
              "Trung", "Cường", "Hiếu", "Huy", "Đức", "Quân", "Khánh", "Phong", "Tùng",
              "Thành", "Vinh", "Tú", "Bình", "Hoàng", "Kiên", "Lâm", "Quang", "Toàn",
              "Việt", "Anh", "Đạt", "Hưng", "Thái", "Trường", "Nghĩa", "Hiệp", "Công",
              "Chiến", "Dương", "Hà", "Lợi", "Phúc", "Tâm", "Thịnh", "Vũ")
GIVEN_FEMALE = ("Hương", "Lan", "Linh", "Hà", "Trang", "Thủy", "Hằng", "Ngọc", "Nga",
                "Huyền", "Mai", "Phương", "Thảo", "Hoa", "Nhung", "Yến", "Vân", "Anh",
                "Dung", "Hạnh", "Oanh", "Quỳnh", "Loan", "Giang", "Chi", "Hiền", "Thu",
                "Liên", "Tâm", "Uyên", "Hồng", "Thúy", "Ly", "Nhàn", "Bích", "Duyên",
                "Thơ", "Xuân", "Hiên", "Ngân")

# --- Units --------------------------------------------------------------------------
ROOT_ID = "HN"
ROOT_NAME = "Thành phố Hà Nội"

# Department-level agencies under the city People's Committee (after the 2025 mergers):
# (code, name, kind, head title, own offices, has a one-stop office, service units at city scale)
DEPARTMENTS = (
    ("VPUB", "Văn phòng Ủy ban nhân dân Thành phố", "so_nganh", "Chánh Văn phòng",
     ("Phòng Tổng hợp", "Phòng Kiểm soát thủ tục hành chính", "Phòng Quản trị - Tài vụ"), False, ()),
    ("SNV", "Sở Nội vụ", "so_nganh", "Giám đốc Sở",
     ("Phòng Tổ chức, biên chế", "Phòng Công chức, viên chức", "Phòng Lao động - Việc làm"), True,
     ("Trung tâm Dịch vụ việc làm Hà Nội", "Trung tâm Lưu trữ lịch sử")),
    ("STC", "Sở Tài chính", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý ngân sách", "Phòng Đăng ký kinh doanh", "Phòng Tài chính đầu tư"), True, ()),
    ("STP", "Sở Tư pháp", "so_nganh", "Giám đốc Sở",
     ("Phòng Hành chính tư pháp", "Phòng Bổ trợ tư pháp", "Phòng Xây dựng và kiểm tra văn bản"), True,
     ("Trung tâm Trợ giúp pháp lý Nhà nước", "Phòng Công chứng số 1")),
    ("SCT", "Sở Công Thương", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý thương mại", "Phòng Quản lý năng lượng", "Phòng Quản lý công nghiệp"), True,
     ("Trung tâm Khuyến công và Tư vấn phát triển công nghiệp",)),
    ("SKHCN", "Sở Khoa học và Công nghệ", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý công nghệ", "Phòng Chuyển đổi số", "Phòng Bưu chính, viễn thông"), True,
     ("Trung tâm Thông tin, thống kê khoa học và công nghệ",)),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý đất đai", "Phòng Môi trường", "Phòng Kế hoạch - Tài chính"), True,
     ("Chi cục Thủy lợi", "Chi cục Trồng trọt và Bảo vệ thực vật",
      "Chi cục Chăn nuôi, Thủy sản và Thú y", "Văn phòng Đăng ký đất đai Hà Nội",
      "Trung tâm Khuyến nông")),
    ("SXD", "Sở Xây dựng", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý hoạt động xây dựng", "Phòng Quản lý vận tải", "Phòng Phát triển đô thị"), True,
     ("Trung tâm Quản lý giao thông công cộng", "Trung tâm Quản lý hạ tầng giao thông")),
    ("SQHKT", "Sở Quy hoạch - Kiến trúc", "so_nganh", "Giám đốc Sở",
     ("Phòng Quy hoạch đô thị", "Phòng Kiến trúc", "Phòng Quy hoạch nông thôn"), True, ()),
    ("SGDDT", "Sở Giáo dục và Đào tạo", "so_nganh", "Giám đốc Sở",
     ("Phòng Giáo dục phổ thông", "Phòng Giáo dục mầm non", "Phòng Khảo thí và Kiểm định chất lượng"), True,
     ("Trường THPT Chu Văn An", "Trường THPT Phan Đình Phùng", "Trường THPT Việt Đức",
      "Trường THPT Trần Phú - Hoàn Kiếm", "Trường THPT Kim Liên", "Trường THPT Yên Hòa",
      "Trường THPT Nguyễn Trãi - Ba Đình", "Trường THPT Thăng Long", "Trường THPT Lê Quý Đôn - Hà Đông",
      "Trường THPT Nhân Chính", "Trường THPT Cầu Giấy", "Trường THPT Xuân Đỉnh",
      "Trường THPT Nguyễn Gia Thiều", "Trường THPT Sơn Tây", "Trường THPT Đoàn Kết - Hai Bà Trưng",
      "Trường THPT Trần Nhân Tông", "Trường THPT Việt Nam - Ba Lan", "Trường THPT Quang Trung - Đống Đa",
      "Trường THPT Đống Đa", "Trường THPT Khương Đình", "Trường THPT Hoàng Văn Thụ",
      "Trường THPT Trương Định", "Trường THPT Ngọc Hồi", "Trường THPT Ngô Thì Nhậm",
      "Trường THPT Liên Hà", "Trường THPT Cổ Loa", "Trường THPT Sóc Sơn", "Trường THPT Đa Phúc",
      "Trường THPT Mê Linh", "Trường THPT Quang Minh", "Trường THPT Thạch Thất",
      "Trường THPT Quốc Oai", "Trường THPT Chương Mỹ A", "Trường THPT Mỹ Đức A",
      "Trường THPT Ứng Hòa A", "Trường THPT Phú Xuyên A", "Trường THPT Thường Tín",
      "Trường THPT Ba Vì", "Trường THPT Phúc Thọ", "Trường THPT Đan Phượng",
      "Trường THPT Hoài Đức A", "Trường THPT Chuyên Hà Nội - Amsterdam",
      "Trường THPT Chuyên Nguyễn Huệ")),
    ("SYT", "Sở Y tế", "so_nganh", "Giám đốc Sở",
     ("Phòng Nghiệp vụ Y", "Phòng Nghiệp vụ Dược", "Phòng Kế hoạch - Tài chính"), True,
     ("Bệnh viện Thanh Nhàn", "Bệnh viện Đa khoa Xanh Pôn", "Bệnh viện Đa khoa Đức Giang",
      "Bệnh viện Tim Hà Nội", "Bệnh viện Đống Đa", "Bệnh viện Bắc Thăng Long",
      "Bệnh viện Đa khoa Hà Đông", "Bệnh viện Ung bướu Hà Nội", "Bệnh viện Phụ sản Hà Nội",
      "Bệnh viện Nhi Hà Nội", "Bệnh viện Thận Hà Nội", "Bệnh viện Mắt Hà Nội",
      "Bệnh viện Đa khoa Sơn Tây", "Bệnh viện Đa khoa Đông Anh", "Bệnh viện Đa khoa Sóc Sơn",
      "Bệnh viện Đa khoa Mê Linh", "Bệnh viện Đa khoa Ba Vì", "Bệnh viện Đa khoa Gia Lâm",
      "Trung tâm Kiểm soát bệnh tật Hà Nội", "Trung tâm Cấp cứu 115 Hà Nội")),
    ("SVHTT", "Sở Văn hóa và Thể thao", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý văn hóa", "Phòng Quản lý thể dục thể thao", "Phòng Quản lý di sản"), True,
     ("Thư viện Hà Nội", "Nhà hát Chèo Hà Nội", "Bảo tàng Hà Nội",
      "Trung tâm Huấn luyện và Thi đấu thể dục thể thao")),
    ("SDL", "Sở Du lịch", "so_nganh", "Giám đốc Sở",
     ("Phòng Quản lý lữ hành", "Phòng Xúc tiến du lịch"), True, ()),
    ("SDTTG", "Sở Dân tộc và Tôn giáo", "so_nganh", "Giám đốc Sở",
     ("Phòng Công tác dân tộc", "Phòng Quản lý tôn giáo"), False, ()),
    ("TTTP", "Thanh tra Thành phố", "so_nganh", "Chánh Thanh tra",
     ("Phòng Tiếp công dân và xử lý đơn", "Phòng Thanh tra kinh tế - xã hội",
      "Phòng Phòng, chống tham nhũng"), False, ()),
    ("SNGV", "Sở Ngoại vụ", "so_nganh", "Giám đốc Sở",
     ("Phòng Lãnh sự", "Phòng Hợp tác quốc tế"), True, ()),
    ("VPHDND", "Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân Thành phố", "so_nganh",
     "Chánh Văn phòng", ("Phòng Công tác Quốc hội", "Phòng Công tác Hội đồng nhân dân"), False, ()),
    ("BQLKCN", "Ban Quản lý các khu công nghệ cao và khu công nghiệp Thành phố", "so_nganh",
     "Trưởng ban", ("Phòng Quản lý doanh nghiệp", "Phòng Quy hoạch - Xây dựng"), True, ()),
    ("TTPVHCC", "Trung tâm Phục vụ hành chính công Thành phố", "so_nganh", "Giám đốc Trung tâm",
     (), False, ()),
    ("BQLDD", "Ban Quản lý dự án đầu tư xây dựng công trình dân dụng Thành phố", "don_vi_su_nghiep",
     "Giám đốc Ban", ("Phòng Kế hoạch - Tổng hợp", "Phòng Quản lý dự án 1"), False, ()),
    ("BQLGT", "Ban Quản lý dự án đầu tư xây dựng công trình giao thông Thành phố", "don_vi_su_nghiep",
     "Giám đốc Ban", ("Phòng Kế hoạch - Tổng hợp", "Phòng Quản lý dự án 2"), False, ()),
    ("BQLHT", "Ban Quản lý dự án đầu tư xây dựng công trình hạ tầng kỹ thuật và nông nghiệp Thành phố",
     "don_vi_su_nghiep", "Giám đốc Ban", ("Phòng Kế hoạch - Tổng hợp", "Phòng Quản lý dự án 3"), False, ()),
    ("BQLVH", "Ban Quản lý dự án đầu tư xây dựng công trình văn hóa - xã hội Thành phố",
     "don_vi_su_nghiep", "Giám đốc Ban", ("Phòng Kế hoạch - Tổng hợp", "Phòng Quản lý dự án 4"), False, ()),
    ("MRB", "Ban Quản lý đường sắt đô thị Hà Nội", "don_vi_su_nghiep", "Trưởng ban",
     ("Phòng Kỹ thuật", "Phòng Kế hoạch - Tổng hợp"), False, ()),
    ("HPA", "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch Thành phố", "don_vi_su_nghiep",
     "Giám đốc Trung tâm", ("Phòng Xúc tiến đầu tư", "Phòng Xúc tiến thương mại"), False, ()),
    ("BPTTH", "Báo và Phát thanh, Truyền hình Hà Nội", "don_vi_su_nghiep", "Tổng Biên tập",
     ("Ban Thời sự", "Ban Báo điện tử"), False, ()),
    ("VNC", "Viện Nghiên cứu phát triển kinh tế - xã hội Hà Nội", "don_vi_su_nghiep", "Viện trưởng",
     ("Phòng Nghiên cứu kinh tế", "Phòng Nghiên cứu xã hội"), False, ()),
    ("LHP", "Trường Đào tạo cán bộ Lê Hồng Phong", "don_vi_su_nghiep", "Hiệu trưởng",
     ("Khoa Nhà nước và Pháp luật", "Khoa Lý luận cơ sở"), False, ()),
    ("QDT", "Quỹ Đầu tư phát triển Thành phố Hà Nội", "don_vi_su_nghiep", "Giám đốc Quỹ",
     ("Phòng Tín dụng", "Phòng Kế toán"), False, ()),
    ("TTBTDS", "Trung tâm Bảo tồn Di sản Thăng Long - Hà Nội", "don_vi_su_nghiep", "Giám đốc Trung tâm",
     ("Phòng Quản lý di tích", "Phòng Hướng dẫn - Thuyết minh"), False, ()),
)

# The city's one-stop centre works through numbered branches (one-stop units).
ONE_STOP_BRANCHES = 6

# The 126 commune-level units from 1 July 2025 (51 phường, 75 xã).
WARDS = (
    "Hoàn Kiếm", "Cửa Nam", "Ba Đình", "Ngọc Hà", "Giảng Võ", "Hai Bà Trưng", "Vĩnh Tuy",
    "Bạch Mai", "Đống Đa", "Kim Liên", "Văn Miếu - Quốc Tử Giám", "Láng", "Ô Chợ Dừa",
    "Hồng Hà", "Lĩnh Nam", "Hoàng Mai", "Vĩnh Hưng", "Tương Mai", "Định Công", "Hoàng Liệt",
    "Yên Sở", "Thanh Xuân", "Khương Đình", "Phương Liệt", "Cầu Giấy", "Nghĩa Đô", "Yên Hòa",
    "Tây Hồ", "Phú Thượng", "Tây Tựu", "Phú Diễn", "Xuân Đỉnh", "Đông Ngạc", "Thượng Cát",
    "Từ Liêm", "Xuân Phương", "Tây Mỗ", "Đại Mỗ", "Long Biên", "Bồ Đề", "Việt Hưng",
    "Phúc Lợi", "Hà Đông", "Dương Nội", "Yên Nghĩa", "Phú Lương", "Kiến Hưng", "Thanh Liệt",
    "Chương Mỹ", "Sơn Tây", "Tùng Thiện",
)
COMMUNES = (
    "Sóc Sơn", "Đa Phúc", "Nội Bài", "Trung Giã", "Kim Anh", "Đông Anh", "Phúc Thịnh",
    "Thư Lâm", "Thiên Lộc", "Vĩnh Thanh", "Mê Linh", "Yên Lãng", "Tiến Thắng", "Quang Minh",
    "Gia Lâm", "Thuận An", "Bát Tràng", "Phù Đổng", "Thanh Trì", "Đại Thanh", "Nam Phù",
    "Ngọc Hồi", "Thượng Phúc", "Thường Tín", "Chương Dương", "Hồng Vân", "Phú Xuyên",
    "Phượng Dực", "Chuyên Mỹ", "Đại Xuyên", "Thanh Oai", "Bình Minh", "Tam Hưng", "Dân Hòa",
    "Vân Đình", "Ứng Thiên", "Hòa Xá", "Ứng Hòa", "Mỹ Đức", "Hồng Sơn", "Phúc Sơn",
    "Hương Sơn", "Phú Nghĩa", "Xuân Mai", "Trần Phú", "Hòa Phú", "Quảng Bị", "Minh Châu",
    "Quảng Oai", "Vật Lại", "Cổ Đô", "Bất Bạt", "Suối Hai", "Ba Vì", "Yên Bài", "Đoài Phương",
    "Phúc Thọ", "Phúc Lộc", "Hát Môn", "Thạch Thất", "Hạ Bằng", "Tây Phương", "Hòa Lạc",
    "Yên Xuân", "Quốc Oai", "Hưng Đạo", "Kiều Phú", "Phú Cát", "Hoài Đức", "Dương Hòa",
    "Sơn Đồng", "An Khánh", "Đan Phượng", "Ô Diên", "Liên Minh",
)

# Offices of a commune-level unit: (id suffix, name, kind). KT's name differs for wards.
COMMUNE_OFFICES = (
    ("VP", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân", "phong_ban"),
    ("KT", "Phòng Kinh tế", "phong_ban"),
    ("VHXH", "Phòng Văn hóa - Xã hội", "phong_ban"),
    ("MC", "Trung tâm Phục vụ hành chính công", "mot_cua"),
    ("TYT", "Trạm Y tế", "don_vi_su_nghiep"),
)
WARD_KT_NAME = "Phòng Kinh tế, Hạ tầng và Đô thị"
SCHOOL_LEVELS = (("MN", "Trường Mầm non"), ("TH", "Trường Tiểu học"), ("THCS", "Trường THCS"))

# --- Positions ----------------------------------------------------------------------
# Staff titles (with weights) per unit kind; heads come from the unit, deputies are
# "Phó " + the head's title.
STAFF = {
    "thanh_pho": (("Chuyên viên", 1),),
    "so_nganh": (("Chuyên viên", 1),),
    "phuong": (("Chuyên viên", 1),),
    "xa": (("Chuyên viên", 1),),
    "phong_ban": (("Chuyên viên", 50), ("Chuyên viên chính", 20), ("Cán sự", 12),
                  ("Văn thư", 6), ("Kế toán", 6), ("Chuyên viên cao cấp", 2), ("Lưu trữ viên", 4)),
    "mot_cua": (("Chuyên viên tiếp nhận và trả kết quả", 70), ("Chuyên viên", 20), ("Cán sự", 10)),
    "don_vi_su_nghiep": (("Viên chức", 40), ("Chuyên viên", 30), ("Kế toán", 10), ("Kỹ sư", 15),
                         ("Văn thư", 5)),
    "truong_hoc": (("Giáo viên", 85), ("Kế toán", 4), ("Nhân viên thư viện", 4), ("Nhân viên y tế", 4),
                   ("Văn thư", 3)),
    "benh_vien": (("Bác sĩ", 35), ("Điều dưỡng", 40), ("Dược sĩ", 7), ("Kỹ thuật viên", 12),
                  ("Hộ sinh", 6)),
    "tram_y_te": (("Y sĩ", 35), ("Điều dưỡng", 35), ("Bác sĩ", 20), ("Dược sĩ", 10)),
}

# --- Tasks --------------------------------------------------------------------------
# Titles by working area; {m} is replaced by "MM/YYYY" of the month the task is assigned.
TASK_TITLES = {
    "admin": (
        "Báo cáo kết quả thực hiện nhiệm vụ tháng {m}",
        "Xây dựng kế hoạch công tác tháng {m}",
        "Tham mưu văn bản chỉ đạo triển khai Nghị quyết của Thành ủy",
        "Rà soát, cập nhật danh mục thủ tục hành chính",
        "Tổng hợp ý kiến góp ý dự thảo văn bản quy phạm pháp luật",
        "Chuẩn bị tài liệu họp giao ban tháng {m}",
        "Trả lời kiến nghị của cử tri",
        "Kiểm tra công tác cải cách hành chính",
        "Báo cáo công tác phòng, chống tham nhũng, tiêu cực",
        "Cập nhật dữ liệu cán bộ, công chức lên cơ sở dữ liệu",
        "Thẩm định hồ sơ dự án đầu tư công",
        "Xử lý văn bản đến trên hệ thống quản lý văn bản điều hành",
        "Báo cáo tiến độ giải ngân vốn đầu tư công tháng {m}",
        "Tham mưu kế hoạch chuyển đổi số năm",
        "Rà soát, sắp xếp trụ sở làm việc dôi dư sau sắp xếp",
        "Tổ chức hội nghị sơ kết công tác quý",
        "Giải quyết đơn thư khiếu nại, tố cáo",
        "Báo cáo thống kê số liệu kinh tế - xã hội tháng {m}",
        "Kiểm tra việc chấp hành pháp luật về trật tự xây dựng",
        "Tham mưu thực hiện kết luận thanh tra",
        "Lập dự toán ngân sách năm",
        "Số hóa hồ sơ lưu trữ",
        "Hướng dẫn nghiệp vụ cho cấp xã",
        "Cập nhật cơ sở dữ liệu đất đai",
        "Tuyên truyền, phổ biến giáo dục pháp luật",
        "Kiểm tra an toàn thực phẩm",
        "Rà soát hộ nghèo, hộ cận nghèo",
        "Xây dựng báo cáo chuyên đề theo yêu cầu của Thành phố",
    ),
    "one_stop": (
        "Tiếp nhận và trả kết quả hồ sơ thủ tục hành chính tháng {m}",
        "Số hóa hồ sơ, kết quả giải quyết thủ tục hành chính",
        "Hướng dẫn người dân nộp hồ sơ trực tuyến",
        "Báo cáo tình hình giải quyết thủ tục hành chính tháng {m}",
        "Xử lý hồ sơ quá hạn trên Hệ thống thông tin giải quyết TTHC",
        "Cập nhật bảng niêm yết thủ tục hành chính",
        "Tổng hợp đánh giá mức độ hài lòng của người dân tháng {m}",
        "Trả lời phản ánh, kiến nghị của người dân",
        "Rà soát hồ sơ chứng thực, hộ tịch",
    ),
    "school": (
        "Xây dựng kế hoạch giáo dục tháng {m}",
        "Soạn giáo án, chuẩn bị bài giảng",
        "Chấm bài kiểm tra định kỳ",
        "Tổ chức sinh hoạt chuyên môn tổ bộ môn",
        "Cập nhật sổ điểm điện tử",
        "Bồi dưỡng học sinh giỏi",
        "Họp phụ huynh học sinh",
        "Báo cáo công tác bán trú tháng {m}",
        "Kiểm tra hồ sơ chuyên môn giáo viên",
    ),
    "health": (
        "Báo cáo công tác khám, chữa bệnh tháng {m}",
        "Triển khai tiêm chủng mở rộng",
        "Giám sát phòng, chống dịch bệnh",
        "Kiểm tra công tác dược, vật tư y tế",
        "Cập nhật hồ sơ sức khỏe điện tử",
        "Tổ chức khám sức khỏe định kỳ",
        "Báo cáo sự cố y khoa",
        "Tập huấn chuyên môn cho điều dưỡng",
    ),
}

# --- Ratings at one-stop counters ---------------------------------------------------
PROCEDURES = tuple(f"TTHC-{a}.{b:03d}" for a, b in (
    (1, 1), (1, 4), (1, 12), (1, 17), (1, 23), (1, 35), (1, 40), (1, 52), (1, 63), (1, 71),
    (1, 88), (1, 95), (1, 102), (1, 117), (1, 130), (2, 2), (2, 14), (2, 27), (2, 31),
    (2, 45), (2, 58), (2, 66), (2, 79), (3, 5), (3, 18)))
REASONS = ("cho_lau", "nghiep_vu", "thai_do", "khac")
REASON_WEIGHTS = (0.45, 0.2, 0.2, 0.15)
COMMENTS_GOOD = (
    "Cán bộ nhiệt tình, hướng dẫn rõ ràng",
    "Giải quyết nhanh, đúng hẹn",
    "Thái độ phục vụ tốt",
    "Rất hài lòng với cách làm việc của cán bộ",
    "Hướng dẫn tận tình, dễ hiểu",
    "Thủ tục đơn giản, không phải đi lại nhiều lần",
    "Cảm ơn chị cán bộ đã hỗ trợ",
    "Nộp hồ sơ trực tuyến rất thuận tiện",
)
COMMENTS_OK = (
    "Tạm được",
    "Cần thêm chỗ ngồi chờ",
    "Nên có thêm hướng dẫn bằng bảng biểu",
    "Bình thường",
)
# Negative comments per reason (index as REASONS), then for no reason given.
COMMENTS_BAD = (
    ("Phải chờ lâu", "Chờ hơn một tiếng mới đến lượt", "Hẹn trả kết quả nhưng bị chậm"),
    ("Hướng dẫn không rõ, phải bổ sung hồ sơ nhiều lần", "Cán bộ chưa nắm vững quy định"),
    ("Cán bộ thiếu nhiệt tình", "Thái độ chưa niềm nở"),
    ("Hệ thống mạng bị lỗi", "Máy lấy số thứ tự bị hỏng"),
    ("Không hài lòng", "Cần cải thiện"),
)

# --- Evaluations --------------------------------------------------------------------
CANCEL_NOTES = (
    "Hủy kết quả để đánh giá lại theo ý kiến của cấp ủy",
    "Hủy do phát hiện sai sót trong hồ sơ đánh giá",
    "Hủy theo kết luận kiểm tra",
)
REEVAL_NOTE = "Đánh giá lại sau khi hủy kết quả"
SELF_NOTES = ("Hoàn thành đầy đủ nhiệm vụ được giao", "Tự đánh giá theo tiêu chí của đơn vị", None)

# --- OKRs ---------------------------------------------------------------------------
# Themes of the city's objectives; units take some of them for their own objectives.
OBJECTIVE_THEMES = (
    ("phuc_vu", "Nâng cao chất lượng phục vụ người dân, doanh nghiệp"),
    ("dung_han", "Hoàn thành đúng hạn, có chất lượng các nhiệm vụ được giao"),
    ("chuyen_doi_so", "Đẩy mạnh chuyển đổi số trong giải quyết thủ tục hành chính"),
    ("ky_cuong", "Siết chặt kỷ luật, kỷ cương hành chính"),
)
# Key results per theme: (title, metric, start, target, direction).
KEY_RESULTS = {
    "phuc_vu": (
        ("Tỷ lệ người dân hài lòng tại bộ phận một cửa", "satisfaction_rate", 0.9, 0.95, "up"),
        ("Điểm hài lòng bình quân", "satisfaction_mean", 3.4, 3.6, "up"),
        ("Số đánh giá không hài lòng trong tháng", "dissatisfied_count", 20, 5, "down"),
        ("Tỷ lệ phản ánh, kiến nghị được trả lời đúng hạn (%)", "manual", 70, 95, "up"),
    ),
    "dung_han": (
        ("Tỷ lệ nhiệm vụ hoàn thành đúng hạn", "on_time_rate", 0.75, 0.9, "up"),
        ("Tỷ lệ nhiệm vụ hoàn thành", "completion_rate", 0.85, 0.97, "up"),
        ("Điểm kết quả thực hiện nhiệm vụ", "task_score", 50, 60, "up"),
        ("Số nhiệm vụ quá hạn chưa hoàn thành", "overdue_open", 40, 5, "down"),
    ),
    "chuyen_doi_so": (
        ("Tỷ lệ hồ sơ giải quyết trực tuyến toàn trình (%)", "manual", 40, 80, "up"),
        ("Tỷ lệ hồ sơ được số hóa khi tiếp nhận (%)", "manual", 60, 100, "up"),
        ("Số dịch vụ công được tái cấu trúc quy trình", "manual", 0, 20, "up"),
    ),
    "ky_cuong": (
        ("Số cán bộ chưa được đánh giá, xếp loại trong tháng", "pending_evaluations", 10, 0, "down"),
        ("Số cuộc kiểm tra công vụ đã thực hiện", "manual", 0, 12, "up"),
        ("Số văn bản chậm xử lý trên hệ thống điều hành", "manual", 30, 5, "down"),
    ),
}
CHECKIN_NOTES = ("Đúng tiến độ", "Chậm do vướng mắc thủ tục", "Cần hỗ trợ kinh phí",
                 "Đã báo cáo lãnh đạo", "Đang phối hợp với các đơn vị liên quan")
