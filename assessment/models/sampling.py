"""Sampling frames, sample designs, draws and cases with their inclusion probabilities."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from assessment.fields import EncryptedTextField
from assessment.models.geography import County, Town, UrbanRural, Village
from assessment.models.waves import Wave


class Frame(models.Model):
    """A list of primary sampling units (villages, schools, enterprises, agencies)."""

    class Kind(models.TextChoices):
        AREA = "area", _("村（社区）")
        SCHOOL = "school", _("学校")
        ENTERPRISE = "enterprise", _("企业")
        AGENCY = "agency", _("机关事业单位")

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="frames")
    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    reference_year = models.PositiveSmallIntegerField(_("资料年份"))
    source_filename = models.CharField(max_length=255, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("抽样框")
        verbose_name_plural = _("抽样框")

    def __str__(self) -> str:
        return self.name


class FrameUnit(models.Model):
    """One PSU of a frame with its measure of size."""

    frame = models.ForeignKey(Frame, on_delete=models.CASCADE, related_name="units")
    code = models.CharField(_("代码"), max_length=32)
    name = models.CharField(_("名称"), max_length=128)
    town = models.ForeignKey(Town, on_delete=models.PROTECT, related_name="+")
    village = models.ForeignKey(Village, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    urban_rural = models.CharField(_("城乡"), max_length=5, choices=UrbanRural.choices)
    measure_of_size = models.FloatField(_("规模度量"))
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("抽样单位")
        verbose_name_plural = _("抽样单位")
        constraints = [
            models.UniqueConstraint(fields=["frame", "code"], name="frame_unit_code_unique"),
            models.CheckConstraint(condition=models.Q(measure_of_size__gt=0), name="mos_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """A listed household of a PSU; address and head's name are encrypted."""

    unit = models.ForeignKey(FrameUnit, on_delete=models.CASCADE, related_name="households_listed")
    code = models.CharField(_("户编号"), max_length=32)
    size = models.PositiveSmallIntegerField(_("人数"), null=True, blank=True)
    address = EncryptedTextField(_("地址"), blank=True)
    head_name = EncryptedTextField(_("户主姓名"), blank=True)

    class Meta:
        verbose_name = _("住户")
        verbose_name_plural = _("住户")
        constraints = [
            models.UniqueConstraint(fields=["unit", "code"], name="household_code_unique_in_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.unit.code}-{self.code}"


class SampleDesign(models.Model):
    class Allocation(models.TextChoices):
        PROPORTIONAL = "proportional", _("按比例")
        EQUAL = "equal", _("等量")
        FIXED = "fixed", _("指定数量")
        MIN_PER_TOWN = "min_per_town", _("按比例并保证每镇最低数量")
        TARGET_CV = "target_cv", _("按目标变异系数")

    class HouseholdMethod(models.TextChoices):
        SYSTEMATIC = "systematic", _("等距抽样")
        SRS = "srs", _("简单随机抽样")

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="sample_designs")
    frame = models.ForeignKey(Frame, on_delete=models.PROTECT, related_name="designs")
    name = models.CharField(_("名称"), max_length=128)
    stratify_by = models.JSONField(_("分层变量"), default=list)
    allocation = models.CharField(_("分配方法"), max_length=16, choices=Allocation.choices)
    psu_total = models.PositiveIntegerField(_("抽取村（社区）数"))
    households_per_psu = models.PositiveIntegerField(_("每村抽取户数"))
    household_method = models.CharField(
        max_length=12, choices=HouseholdMethod.choices, default=HouseholdMethod.SYSTEMATIC
    )
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("抽样设计")
        verbose_name_plural = _("抽样设计")

    def __str__(self) -> str:
        return self.name


class Stratum(models.Model):
    design = models.ForeignKey(SampleDesign, on_delete=models.CASCADE, related_name="strata")
    code = models.CharField(_("代码"), max_length=64)
    town = models.ForeignKey(Town, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    urban_rural = models.CharField(max_length=5, choices=UrbanRural.choices, blank=True)
    frame_units = models.PositiveIntegerField(_("框内单位数"))
    frame_size = models.FloatField(_("规模合计"))
    psu_allocated = models.PositiveIntegerField(_("分配单位数"))
    target_completes = models.PositiveIntegerField(_("目标完成数"), default=0)

    class Meta:
        verbose_name = _("层")
        verbose_name_plural = _("层")
        constraints = [
            models.UniqueConstraint(fields=["design", "code"], name="stratum_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class SampleDraw(models.Model):
    """One reproducible execution of a design (the seed is stored)."""

    design = models.ForeignKey(SampleDesign, on_delete=models.CASCADE, related_name="draws")
    seed = models.BigIntegerField()
    is_current = models.BooleanField(default=True)
    drawn_at = models.DateTimeField(auto_now_add=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("样本抽取")
        verbose_name_plural = _("样本抽取")

    def __str__(self) -> str:
        return f"{self.design} #{self.pk} (seed {self.seed})"


class SampledUnit(models.Model):
    """A PSU selected by a draw, with its first-stage inclusion probability."""

    draw = models.ForeignKey(SampleDraw, on_delete=models.CASCADE, related_name="units")
    stratum = models.ForeignKey(Stratum, on_delete=models.PROTECT, related_name="sampled_units")
    unit = models.ForeignKey(FrameUnit, on_delete=models.PROTECT, related_name="+")
    probability = models.FloatField(_("入样概率"))
    certainty = models.BooleanField(_("必选单位"), default=False)
    selection_order = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("样本村（社区）")
        verbose_name_plural = _("样本村（社区）")
        constraints = [
            models.UniqueConstraint(fields=["draw", "unit"], name="sampled_unit_once_per_draw"),
            models.CheckConstraint(
                condition=models.Q(probability__gt=0) & models.Q(probability__lte=1),
                name="sampled_unit_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return self.unit.name


class Disposition(models.TextChoices):
    """Final and interim case outcomes, following AAPOR Standard Definitions (2023)."""

    PENDING = "pending", _("未处理")
    COMPLETE = "complete", _("完成 (1.1)")
    PARTIAL = "partial", _("部分完成 (1.2)")
    REFUSAL = "refusal", _("拒访 (2.1)")
    NON_CONTACT = "non_contact", _("未接触 (2.2)")
    OTHER = "other", _("其他未访问 (2.3)")
    UNKNOWN_ELIGIBILITY = "unknown", _("资格未知 (3)")
    NOT_ELIGIBLE = "not_eligible", _("不符合条件 (4)")


class Case(models.Model):
    """A sampled household: its stage probabilities, respondent selection and outcome."""

    draw = models.ForeignKey(SampleDraw, on_delete=models.CASCADE, related_name="cases")
    sampled_unit = models.ForeignKey(SampledUnit, on_delete=models.CASCADE, related_name="cases")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Denormalised for scope checks and monitoring queries.
    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="cases")
    town = models.ForeignKey(Town, on_delete=models.PROTECT, related_name="cases")
    code = models.CharField(_("样本编号"), max_length=40, unique=True)
    prob_psu = models.FloatField(_("第一阶段概率"))
    prob_household = models.FloatField(_("第二阶段概率"))
    prob_person = models.FloatField(_("第三阶段概率"), null=True, blank=True)
    # The Kish grid row, drawn with the sample so that the roster alone decides the respondent.
    kish_u = models.FloatField(_("Kish 随机数"), null=True, blank=True)
    disposition = models.CharField(
        _("结果"), max_length=14, choices=Disposition.choices, default=Disposition.PENDING
    )
    disposition_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    contact_name = EncryptedTextField(_("联系人"), blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("样本户")
        verbose_name_plural = _("样本户")
        indexes = [models.Index(fields=["wave", "town", "disposition"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(prob_psu__gt=0) & models.Q(prob_psu__lte=1),
                name="case_prob_psu_range",
            ),
            models.CheckConstraint(
                condition=models.Q(prob_household__gt=0) & models.Q(prob_household__lte=1),
                name="case_prob_household_range",
            ),
            models.CheckConstraint(
                condition=models.Q(kish_u__isnull=True) | (models.Q(kish_u__gte=0) & models.Q(kish_u__lt=1)),
                name="case_kish_u_range",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def inclusion_probability(self) -> float | None:
        """Return π, the product of the stage probabilities, once the person is selected."""
        if self.prob_person is None:
            return None
        return self.prob_psu * self.prob_household * self.prob_person


class HouseholdMember(models.Model):
    """A roster line entered by the enumerator (or the respondent) for Kish selection."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    line = models.PositiveSmallIntegerField()
    name = EncryptedTextField(_("姓名"), blank=True)
    sex = models.CharField(max_length=6, choices=[("male", _("男")), ("female", _("女"))])
    age = models.PositiveSmallIntegerField()
    eligible = models.BooleanField(default=True)
    selected = models.BooleanField(_("Kish 选中"), default=False)

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["case", "line"]
        constraints = [
            models.UniqueConstraint(fields=["case", "line"], name="member_line_unique"),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(selected=True), name="one_selected_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.code}/{self.line}"


class Assignment(models.Model):
    """History of which enumerator holds a case; the open row is the current one."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assignments")
    enumerator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("任务分配")
        verbose_name_plural = _("任务分配")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(ended_at__isnull=True), name="one_open_assignment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} → {self.enumerator}"


class Visit(models.Model):
    """One contact attempt, recorded on the device (client id makes sync idempotent)."""

    client_id = models.UUIDField(unique=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visits")
    enumerator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visited_at = models.DateTimeField()
    outcome = models.CharField(max_length=14, choices=Disposition.choices)
    note = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("访问记录")
        verbose_name_plural = _("访问记录")
        ordering = ["case", "visited_at"]

    def __str__(self) -> str:
        return f"{self.case} {self.visited_at:%Y-%m-%d} {self.outcome}"
