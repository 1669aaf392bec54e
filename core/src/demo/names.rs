//! Name lists and text templates for the demo-data generator (all made up).

pub const DISTRICT_CODE: &str = "430203000000";
pub const DISTRICT_NAME: &str = "枫溪区";
/// Roughly where the made-up district lies (lat, lon).
pub const CENTRE: (f64, f64) = (27.83, 113.15);

/// Common surnames; the most common are listed twice so they come up more often.
pub const SURNAMES: &str = "张王李刘陈杨赵黄周吴徐孙胡朱高林何郭马罗\
    张王李刘陈杨赵黄周吴徐孙胡朱高林何郭马罗\
    梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜\
    范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文单覃";

pub const MALE_GIVEN: &str =
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林欢阳建国志文海峰亮成春东振鸿";
pub const FEMALE_GIVEN: &str =
    "芳娜敏静丽艳娟霞秀英玲桂兰梅琳燕萍红倩婷雪慧颖洁琴云莉梦瑶欣怡思雨晨佳丹凤";

pub const STREETS: &[&str] = &[
    "建设",
    "桂花",
    "枫溪",
    "白关",
    "龙泉",
    "贺家土",
    "庆云",
    "董家塅",
    "五里墩",
    "栗雨",
    "月塘",
    "荷塘",
    "清水塘",
    "金山",
    "湘江",
    "井龙",
];

pub const COMMUNITIES: &[&str] = &[
    "枫林",
    "荷花",
    "丽园",
    "新华",
    "向阳",
    "桂园",
    "东风",
    "红旗",
    "滨江",
    "长青",
    "和平",
    "光明",
    "曙光",
    "文化",
    "幸福",
    "建新",
    "金色家园",
    "明珠",
    "翠竹",
    "太阳",
    "湘水湾",
    "钻石",
    "车站路",
    "攸县路",
    "铁东",
    "茶园",
    "栗园",
    "田心",
    "南华",
    "学林",
];

pub const HOUSEHOLD_NOTES: &[&str] = &[
    "家中养有宠物犬，入户前请先敲门",
    "户主白天上班，晚上7点后在家",
    "子女在外地工作，每周电话联系",
    "老人听力不好，沟通时需放慢语速",
    "房屋正在装修，暂住亲戚家",
    "家中有高龄老人，需重点关注",
];

/// Disability kinds; the 1-based position is the category digit of the certificate number.
pub const DISABILITY_KINDS: &[&str] = &["视力", "听力", "言语", "肢体", "智力", "精神", "多重"];
pub const GRADES: &[&str] = &["一", "二", "三", "四"];
pub const CHRONIC: &[&str] = &["高血压", "糖尿病", "冠心病", "慢阻肺", "脑梗后遗症"];

pub const FINDINGS_GENERAL: &[&str] = &[
    "入户走访，家庭成员情况无变化，居住正常。",
    "核实家庭人员信息，已更新联系电话。",
    "宣传反诈知识，发放宣传资料一份。",
    "宣传燃气安全知识，检查燃气软管未见老化。",
    "了解家庭近况，无特殊困难。",
    "宣传垃圾分类政策，居民表示支持。",
    "提醒居民电动车不得进楼入户充电。",
];
pub const FINDINGS_ELDERLY: &[&str] = &[
    "老人身体状况良好，精神状态不错，已提醒注意防滑防跌倒。",
    "老人近期血压偏高，已提醒按时服药并到社区卫生服务站复查。",
    "老人独自在家，家中卫生整洁，冰箱有存粮，子女每周回来探望。",
    "协助老人测量血压，讲解居家养老服务政策。",
    "老人行动不便，已登记上门助浴、助餐需求。",
];
/// Visit findings for households with care tags: (tag, text); the last is the fallback.
pub const FINDINGS_CARE: &[(&str, &str)] = &[
    ("min_income", "了解低保家庭生活情况，告知年度复核材料。"),
    ("disabled", "残疾人家庭情况稳定，核实残疾证信息。"),
    ("left_behind_child", "关注家中儿童学习生活情况，监护落实。"),
    ("veteran", "走访退役军人家庭，了解优抚政策落实情况。"),
    (
        "chronic_disease",
        "询问慢性病用药情况，提醒按时到社区卫生服务站复诊。",
    ),
    ("pregnant", "了解孕产妇产检情况，告知妇幼保健服务。"),
    ("empty_nest", "空巢老人身体状况良好，子女定期电话联系。"),
    (
        "lost_only_child",
        "看望失独老人，了解生活需求，给予心理关怀。",
    ),
    ("", "了解家庭近况，关爱对象情况稳定。"),
];
pub const FINDINGS_RENTED: &[&str] = &[
    "出租屋核查，租客已登记，租赁合同在有效期内。",
    "新入住租客，已采集人员信息并告知居住证办理流程。",
    "出租屋消防检查，灭火器在有效期内，疏散通道畅通。",
];
pub const FINDINGS_VACANT: &[&str] = &[
    "房屋空置，敲门无人应答，已电话联系业主。",
    "房屋仍处于空置状态，门窗完好。",
    "联系业主核实，房屋暂无人居住。",
];
pub const NEEDS: &[&str] = &[
    "希望小区加装电梯",
    "咨询城乡居民医保缴费",
    "申请居家养老上门服务",
    "反映楼道灯不亮",
    "咨询高龄津贴申领",
    "希望增设电动车充电桩",
    "咨询孩子入学政策",
    "反映楼上渗水",
    "申请临时救助",
];
pub const FLAG_COMMENTS: &[&str] = &[
    "记录过于简略，请补充走访情况",
    "走访时间与定位不符，请说明",
    "未记录老人身体状况，请补充",
];

/// Departments an issue of each category is dispatched to.
pub const DEPARTMENTS: &[(&str, &[&str])] = &[
    (
        "environment_sanitation",
        &["环卫所", "城管执法中队", "物业公司"],
    ),
    (
        "municipal_facilities",
        &["住建局", "市政维护中心", "供水公司", "供电所"],
    ),
    (
        "neighbour_dispute",
        &["街道综治中心", "司法所", "人民调解委员会"],
    ),
    ("safety_hazard", &["应急管理办", "消防救援站", "住建局"]),
    ("assistance_request", &["民政办", "残联", "社区居委会"]),
    (
        "policy_enquiry",
        &["社保服务中心", "民政办", "街道便民服务中心"],
    ),
    ("other", &["街道综治中心"]),
];

/// (category, weight, days to the deadline counted from the report).
pub const CATEGORIES: &[(&str, u32, i64)] = &[
    ("environment_sanitation", 30, 4),
    ("municipal_facilities", 20, 7),
    ("neighbour_dispute", 12, 7),
    ("safety_hazard", 12, 1),
    ("assistance_request", 12, 4),
    ("policy_enquiry", 9, 3),
    ("other", 5, 7),
];

/// (category, title, description, resolution). `{p}` is replaced by the place.
pub const ISSUES: &[(&str, &str, &str, &str)] = &[
    (
        "environment_sanitation",
        "垃圾堆放未及时清运",
        "{p}生活垃圾堆积两天未清运，有异味。",
        "已联系环卫清运完毕",
    ),
    (
        "environment_sanitation",
        "楼道杂物堆放",
        "{p}楼道堆放纸箱、旧家具，影响通行。",
        "已督促住户清理楼道杂物",
    ),
    (
        "environment_sanitation",
        "污水外溢",
        "{p}化粪池污水外溢，路面脏污。",
        "已疏通管道并冲洗路面",
    ),
    (
        "environment_sanitation",
        "绿化带毁绿种菜",
        "{p}绿化带被开垦种菜。",
        "已恢复绿化",
    ),
    (
        "municipal_facilities",
        "路灯不亮",
        "{p}路灯损坏，夜间出行不便。",
        "已更换灯具，恢复照明",
    ),
    (
        "municipal_facilities",
        "井盖破损",
        "{p}窨井盖破损松动，存在安全隐患。",
        "已更换井盖",
    ),
    (
        "municipal_facilities",
        "道路坑洼积水",
        "{p}路面坑洼，雨天积水严重。",
        "已修补路面",
    ),
    (
        "municipal_facilities",
        "二次供水水压不足",
        "{p}高层住户水压不足，用水困难。",
        "已检修加压泵",
    ),
    (
        "neighbour_dispute",
        "楼上漏水引发纠纷",
        "{p}楼上卫生间漏水渗至楼下，双方协商未果。",
        "经调解，楼上住户承担维修费用",
    ),
    (
        "neighbour_dispute",
        "噪音扰民",
        "{p}住户夜间噪音大，影响邻居休息。",
        "经调解，双方达成谅解",
    ),
    (
        "neighbour_dispute",
        "公共区域占用纠纷",
        "{p}住户占用公共过道放置鞋柜，邻里有意见。",
        "住户已自行搬离",
    ),
    (
        "safety_hazard",
        "电动车楼道充电",
        "{p}有电动车在楼道内飞线充电。",
        "已劝导车主至集中充电点充电",
    ),
    (
        "safety_hazard",
        "消防通道堵塞",
        "{p}消防通道被车辆长期占用。",
        "已联系车主挪车并设置警示",
    ),
    (
        "safety_hazard",
        "外墙瓷砖脱落",
        "{p}外墙瓷砖有脱落迹象，威胁行人安全。",
        "已设置警戒并完成修复",
    ),
    (
        "safety_hazard",
        "燃气泄漏气味",
        "{p}闻到燃气味道，疑似泄漏。",
        "燃气公司已到场检修，排除隐患",
    ),
    (
        "assistance_request",
        "独居老人需要照料",
        "{p}独居老人近期行动不便，希望得到上门照料。",
        "已纳入居家养老上门服务",
    ),
    (
        "assistance_request",
        "申请临时救助",
        "{p}住户因病致贫，申请临时救助。",
        "已协助提交临时救助申请",
    ),
    (
        "assistance_request",
        "残疾人辅具申请",
        "{p}残疾人需要轮椅，申请辅具适配。",
        "残联已上门适配轮椅",
    ),
    (
        "policy_enquiry",
        "咨询医保缴费",
        "{p}居民咨询城乡居民医保缴费标准和渠道。",
        "已解答并协助线上缴费",
    ),
    (
        "policy_enquiry",
        "咨询高龄津贴",
        "{p}居民咨询高龄津贴申领条件。",
        "已告知申领流程并协助申请",
    ),
    (
        "policy_enquiry",
        "咨询入学政策",
        "{p}居民咨询子女就近入学政策。",
        "已解答并提供教育局咨询电话",
    ),
    (
        "other",
        "流浪犬伤人隐患",
        "{p}有流浪犬出没，居民担心伤人。",
        "已联系相关部门捕捉",
    ),
    (
        "other",
        "快递柜占用通道",
        "{p}快递柜摆放占用人行通道。",
        "已协调物业调整位置",
    ),
];

pub const PUBLIC_PLACES: &[&str] = &["楼下", "门口", "东侧空地", "北侧道路", "地下车库入口"];
pub const SELF_HANDLE_PREFIX: &str = "网格员现场处置：";
pub const REPORT_NOTES: &[&str] = &[
    "网格员巡查发现",
    "居民当面反映",
    "居民电话反映",
    "入户走访时发现",
];
pub const VOID_NOTES: &[&str] = &[
    "重复上报，已与同类事件合并处理",
    "经核实不属实",
    "不属于网格事项，已告知居民通过12345热线反映",
];
pub const RETURN_NOTES: &[&str] = &[
    "现场核查问题仍未解决，退回重新处置",
    "居民反映处理不到位，请返工",
];
pub const COMMENTS: &[&str] = &[
    "已电话告知居民处理进度",
    "居民再次来电催办",
    "已拍照留存现场情况",
];
pub const EVAL_NOTES: &[&str] = &[
    "电话回访，居民表示不满意",
    "电话回访，居民认为处理不及时",
    "电话回访，居民表示基本满意",
    "电话回访，居民表示满意",
    "电话回访，居民表示非常满意",
];

use super::issues::Plan;
use super::people::Shape;
use crate::model::{HousingUse as U, Urgency, VisitMode as M};

pub const HOUSING: &[(U, u32)] = &[
    (U::SelfOccupied, 73),
    (U::Rented, 20),
    (U::Vacant, 5),
    (U::Other, 2),
];
pub const SHAPES_RENTED: &[(Shape, u32)] = &[
    (Shape::Single, 40),
    (Shape::YoungCouple, 35),
    (Shape::Nuclear, 25),
];
pub const SHAPES_OWNED: &[(Shape, u32)] = &[
    (Shape::Single, 6),
    (Shape::YoungCouple, 8),
    (Shape::Nuclear, 30),
    (Shape::ThreeGen, 14),
    (Shape::AdultChild, 12),
    (Shape::ElderlyCouple, 17),
    (Shape::ElderlyAlone, 2),
    (Shape::LeftBehind, 2),
    (Shape::SingleParent, 4),
];
pub const MODES: &[(M, u32)] = &[
    (M::InPerson, 72),
    (M::Phone, 16),
    (M::Messaging, 10),
    (M::OnBehalf, 2),
];
pub const MODES_VACANT: &[(M, u32)] = &[(M::Phone, 60), (M::InPerson, 40)];
pub const URGENCY: &[(Urgency, u32)] = &[
    (Urgency::Normal, 91),
    (Urgency::Urgent, 8),
    (Urgency::Critical, 1),
];
pub const URGENCY_SAFETY: &[(Urgency, u32)] = &[
    (Urgency::Normal, 50),
    (Urgency::Urgent, 40),
    (Urgency::Critical, 10),
];
pub const SATISFACTION: &[(i64, u32)] = &[(5, 55), (4, 30), (3, 10), (2, 4), (1, 1)];
/// Weights of the restricted tags, in the order of `RESTRICTED_TAGS`.
pub const RESTRICTED: &[(usize, u32)] = &[(0, 40), (1, 35), (2, 10), (3, 15)];

/// The state issues are left in (most are solved by the worker: 小事不出格).
pub const PLANS: &[(Plan, u32)] = &[
    (Plan::SelfClosed, 42),
    (Plan::SelfHandled, 3),
    (Plan::Voided, 4),
    (Plan::Reported, 4),
    (Plan::Filed, 2),
    (Plan::Dispatched, 4),
    (Plan::InProgress, 5),
    (Plan::Feedback, 3),
    (Plan::Checking, 2),
    (Plan::Closed, 17),
    (Plan::Evaluated, 14),
];

/// Issues made first whenever there are enough, so every state shows: (plan, overdue, rework).
pub const FORCED: &[(Plan, bool, bool)] = &[
    (Plan::Reported, false, false),
    (Plan::Filed, false, false),
    (Plan::Dispatched, true, false),
    (Plan::InProgress, true, false),
    (Plan::InProgress, false, false),
    (Plan::Feedback, false, false),
    (Plan::Checking, false, false),
    (Plan::Closed, false, true),
    (Plan::Evaluated, false, false),
    (Plan::SelfHandled, false, false),
    (Plan::SelfClosed, false, false),
    (Plan::Voided, false, false),
    (Plan::Dispatched, false, true),
];
