//! One data row read into a person, an address and the household's fields, with a
//! problem for every cell that cannot be read.

use super::address::{BuildingMiss, Lookups};
use super::header::Columns;
use super::normalize::{
    cell_text, compact, free_text, id_cut_by_excel, id_number_text, phone_text,
};
use super::problems::{ProblemCode as P, Problems};
use super::{dates, words, ImportContext};
use crate::ledger::cell::{Cell, Table};
use crate::ledger::columns::LedgerColumn as C;
use crate::model::*;
use crate::validate::{check_id_number, check_phone, id_check_char, ErrorCode};
use chrono::NaiveDate;

/// What a row says, as far as it could be read.
pub struct ParsedRow {
    /// Spreadsheet row number (1-based).
    pub row: usize,
    /// 户编号 as written, when given.
    pub household_key: Option<String>,
    /// (community, estate, building, unit, room) as written, to group rows whose address
    /// did not resolve.
    pub address_text: String,
    pub address: Option<(Address, String)>,
    /// `None` when the row lacks what a person needs (name, sex).
    pub person: Option<Person>,
    /// The relation, when given and understood.
    pub relation: Option<Relation>,
    /// The relation cell was empty (allowed only in a one-person household).
    pub relation_missing: bool,
    /// The valid, normalised ID number.
    pub id_number: Option<String>,
    pub housing_use: Option<HousingUse>,
    pub household_type: Option<HouseholdType>,
    pub household_phone: Option<String>,
    pub household_notes: String,
    pub gps: Option<Gps>,
}

struct RowReader<'a, 'p, 'c> {
    table: &'a Table,
    row: usize,
    columns: &'a Columns,
    problems: &'p mut Problems<'c>,
}

impl RowReader<'_, '_, '_> {
    fn cell(&self, field: C) -> &Cell {
        match self.columns.index(field) {
            Some(i) => self.table.cell(self.row, i),
            None => &Cell::Empty,
        }
    }

    fn text(&self, field: C) -> String {
        cell_text(self.cell(field))
    }

    fn problem(&mut self, field: C, code: P, zh: String, en: String) {
        self.problems
            .cell(self.table, self.row, field, code, zh, en);
    }

    fn missing(&mut self, field: C) {
        let zh = format!("“{}”不能为空", field.zh());
        let en = format!("{} is required", field.en());
        self.problem(field, P::MissingRequired, zh, en);
    }

    /// An enum cell: `None` when empty or not understood (then a problem says which
    /// words are accepted).
    fn word<T>(&mut self, field: C, parse: fn(&str) -> Result<T, String>) -> Option<T> {
        let text = self.text(field);
        if text.is_empty() {
            return None;
        }
        match parse(&text) {
            Ok(v) => Some(v),
            Err(accepted) => {
                let zh = format!("“{}”无法识别：{text}，可填写：{accepted}", field.zh());
                let en = format!(
                    "{} \"{text}\" is not understood; accepted: {accepted}",
                    field.en()
                );
                self.problem(field, P::BadValue, zh, en);
                None
            }
        }
    }

    fn phone(&mut self, field: C) -> Option<String> {
        let text = phone_text(&self.cell(field).display());
        if text.is_empty() {
            return None;
        }
        match check_phone("phone", &text) {
            Ok(_) => Some(text),
            Err(_) => {
                let zh = "电话号码格式不正确：应为11位手机号或如010-12345678的固定电话".to_string();
                let en = "Phone number is not valid: expected an 11-digit mobile or a landline such as 010-12345678".to_string();
                self.problem(field, P::BadPhone, zh, en);
                None
            }
        }
    }

    fn birth_date(&mut self) -> Option<NaiveDate> {
        let cell = self.cell(C::BirthDate).clone();
        if cell.is_blank() {
            return None;
        }
        match dates::parse_date_cell(&cell) {
            Ok(d) => Some(d),
            Err(dates::DateError::NoSuchDay) => {
                let zh = "出生日期不存在（请检查月份和日期）".to_string();
                let en = "The birth date does not exist (check the month and day)".to_string();
                self.problem(C::BirthDate, P::BadDate, zh, en);
                None
            }
            Err(dates::DateError::Unreadable) => {
                let zh = "出生日期无法识别，请写成如1950-03-02、1950.3.2、1950/3/2或1950年3月2日"
                    .to_string();
                let en = "The birth date is not readable: write it like 1950-03-02, 1950.3.2, 1950/3/2 or 1950年3月2日".to_string();
                self.problem(C::BirthDate, P::BadDate, zh, en);
                None
            }
        }
    }

    /// The ID number, checked; `None` (and a problem) when wrong.
    fn id_number(&mut self, today: NaiveDate) -> Option<(String, crate::validate::IdNumberInfo)> {
        let cell = self.cell(C::IdNumber).clone();
        let text = id_number_text(&cell.display());
        if text.is_empty() {
            return None;
        }
        let checked = check_id_number("id_number", &text, today);
        let check_digit_ok = !matches!(&checked, Err(e) if e.code == ErrorCode::BadCheckDigit);
        if id_cut_by_excel(&cell, &text, check_digit_ok) {
            let zh = "身份证号被Excel存成了数字，最后几位已丢失（Excel只保留15位有效数字）。请把该列设置为“文本”格式，再重新录入完整的身份证号".to_string();
            let en = "Excel stored this ID number as a number and lost its last digits (Excel keeps only 15). Format the column as Text, then type the full ID numbers in again".to_string();
            self.problem(C::IdNumber, P::IdCutByExcel, zh, en);
            return None;
        }
        match checked {
            Ok(info) => Some((text, info)),
            Err(e) => {
                let (code, zh, en) = match e.code {
                    ErrorCode::BadCheckDigit => {
                        let expected = text.get(..17).and_then(id_check_char).unwrap_or('?');
                        (
                            P::IdCheckDigit,
                            format!("身份证号校验位错误：应为 {expected}，请核对号码是否抄错"),
                            format!("The ID number's check digit is wrong: it should be {expected}; check the number for a typo"),
                        )
                    }
                    ErrorCode::BadDate => (
                        P::IdBadDate,
                        "身份证号中的出生日期不存在或晚于今天".to_string(),
                        "The birth date inside the ID number does not exist or is in the future".to_string(),
                    ),
                    _ => (
                        P::IdBadFormat,
                        format!("身份证号应为18位（17位数字加一位数字或X），此处为{}位", text.chars().count()),
                        format!("An ID number is 18 characters (17 digits then a digit or X); this one has {}", text.chars().count()),
                    ),
                };
                self.problem(C::IdNumber, code, zh, en);
                None
            }
        }
    }

    fn address<'t>(
        &mut self,
        ctx: &ImportContext<'t>,
        lookups: &mut Lookups<'t>,
    ) -> Option<(Address, String)> {
        let community_text = self.text(C::Community);
        let community = if community_text.is_empty() {
            None
        } else {
            match lookups.community(ctx.tree, &community_text) {
                Some(c) => Some(c),
                None => {
                    let zh = format!("本区没有名为或编码为“{community_text}”的社区");
                    let en = format!("There is no community named or coded \"{community_text}\" in this district");
                    self.problem(C::Community, P::UnknownCommunity, zh, en);
                    return None;
                }
            }
        };
        let building_text = compact(&self.text(C::Building));
        let unit = self.text(C::Unit);
        let unit = unit
            .strip_suffix("单元")
            .unwrap_or(&unit)
            .trim()
            .to_string();
        let room = compact(&self.cell(C::Room).display());
        let room = room.strip_suffix('室').unwrap_or(&room).to_string();
        let mut complete = true;
        for (field, value) in [
            (C::Building, &building_text),
            (C::Unit, &unit),
            (C::Room, &room),
        ] {
            if value.is_empty() {
                self.missing(field);
                complete = false;
            }
        }
        if !complete {
            return None;
        }
        let estate = compact(&self.text(C::Estate));
        let building = match lookups.building(ctx.tree, community, &estate, &building_text) {
            Ok(b) => b,
            Err(miss) => {
                let place = community.map_or("本区".to_string(), |c| c.name.clone());
                let (code, zh, en) = match miss {
                    BuildingMiss::NotFound => (
                        P::UnknownBuilding,
                        format!("{place}没有楼栋“{building_text}”，请先在区域管理中添加，或核对楼栋名称"),
                        format!("{place} has no building \"{building_text}\": add it under areas first, or check the name"),
                    ),
                    BuildingMiss::Ambiguous(names) => (
                        P::AmbiguousBuilding,
                        format!("多个社区都有楼栋“{building_text}”（{}），请填写社区", names.join("、")),
                        format!("Several communities have a building \"{building_text}\" ({}): fill in the community", names.join(", ")),
                    ),
                };
                self.problem(C::Building, code, zh, en);
                return None;
            }
        };
        let floor = self.floor(&room)?;
        let address = Address {
            community_code: building.community_code.clone(),
            building_no: building.number.clone(),
            building_name: building.name.clone(),
            unit,
            floor,
            room,
        };
        Some((address, building.grid_id.clone()))
    }

    /// The floor column, else the floor a room number says ("501" → 5, "1203" → 12).
    fn floor(&mut self, room: &str) -> Option<i64> {
        let text = compact(&self.cell(C::Floor).display());
        if !text.is_empty() {
            let number = text
                .strip_suffix('层')
                .or_else(|| text.strip_suffix('楼'))
                .unwrap_or(&text);
            return match number.parse::<i64>() {
                Ok(f) if (-10..=300).contains(&f) => Some(f),
                _ => {
                    let zh = format!("楼层应为整数，如5或-1，而不是“{text}”");
                    let en =
                        format!("The floor must be a whole number such as 5 or -1, not \"{text}\"");
                    self.problem(C::Floor, P::BadValue, zh, en);
                    None
                }
            };
        }
        let number = room.rsplit('-').next().unwrap_or(room);
        if (3..=4).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(n) = number.parse::<i64>() {
                if n >= 100 {
                    return Some(n / 100);
                }
            }
        }
        let zh = format!("无法从房号“{room}”判断楼层，请填写“楼层”列");
        let en = format!("The floor cannot be told from room \"{room}\": fill in the floor column");
        self.problem(C::Floor, P::MissingRequired, zh, en);
        None
    }

    fn gps(&mut self) -> Option<Gps> {
        let (lon, lat) = (
            compact(&self.text(C::Longitude)),
            compact(&self.text(C::Latitude)),
        );
        if lon.is_empty() && lat.is_empty() {
            return None;
        }
        match (lon.parse::<f64>(), lat.parse::<f64>()) {
            (Ok(lon), Ok(lat)) if lon.is_finite() && lat.is_finite() => Some(Gps { lat, lon }),
            _ => {
                let field = if lon.parse::<f64>().is_ok() {
                    C::Latitude
                } else {
                    C::Longitude
                };
                let zh = "经纬度应为两个小数（如经度116.40、纬度39.90），且需同时填写".to_string();
                let en = "Longitude and latitude must both be decimal numbers (such as 116.40 and 39.90)".to_string();
                self.problem(field, P::BadValue, zh, en);
                None
            }
        }
    }
}

/// Reads 0-based `row`; problems go to `problems`.
pub fn parse<'t>(
    table: &Table,
    row: usize,
    columns: &Columns,
    ctx: &ImportContext<'t>,
    lookups: &mut Lookups<'t>,
    problems: &mut Problems<'_>,
) -> ParsedRow {
    let mut r = RowReader {
        table,
        row,
        columns,
        problems,
    };
    let household_key = Some(r.text(C::HouseholdId)).filter(|k| !k.is_empty());
    let address_text = [C::Community, C::Estate, C::Building, C::Unit, C::Room]
        .map(|f| compact(&r.text(f)))
        .join("|");
    let address = r.address(ctx, lookups);
    let household_type = r.word(C::HouseholdType, words::household_type);
    let housing_use = r.word(C::HousingUse, words::housing_use);
    let household_phone = r.phone(C::HouseholdPhone);
    let household_notes = free_text(&r.cell(C::HouseholdNotes).display());
    let gps = r.gps();

    let name = r.text(C::Name);
    if name.is_empty() {
        r.missing(C::Name);
    }
    let sex = r.word(C::Sex, words::sex);
    let birth = r.birth_date();
    let id = r.id_number(ctx.today);
    if let Some((_, info)) = &id {
        if let Some(b) = birth.filter(|b| *b != info.birth_date) {
            // Which part differs, not the dates: the report shows masked ID numbers, and
            // the date in the ID would complete them.
            use chrono::Datelike;
            let id_date = info.birth_date;
            let (zh_part, en_part) = if b.year() != id_date.year() {
                ("年份", "year")
            } else if b.month() != id_date.month() {
                ("月份", "month")
            } else {
                ("日", "day")
            };
            let zh = format!("身份证号中的出生日期与“出生日期”列不一致（{zh_part}不同）");
            let en = format!(
                "The birth date in the ID number differs from the birth date column (the {en_part})"
            );
            r.problem(C::IdNumber, P::IdBirthMismatch, zh, en);
        }
        if let Some(s) = sex.as_ref().filter(|s| **s != info.sex) {
            let (given, in_id) = if *s == Sex::Male {
                ("男", "女")
            } else {
                ("女", "男")
            };
            let zh = format!("身份证号显示性别为{in_id}，与“性别”列的{given}不一致");
            let en = format!(
                "The ID number says the person is {}, the sex column says {}",
                sex_en(&info.sex),
                sex_en(s)
            );
            r.problem(C::IdNumber, P::IdSexMismatch, zh, en);
        }
    }
    let sex = sex.or_else(|| id.as_ref().map(|(_, info)| info.sex.clone()));
    if sex.is_none() && r.cell(C::Sex).is_blank() {
        r.missing(C::Sex);
    }
    let birth_date = birth.or_else(|| id.as_ref().map(|(_, info)| info.birth_date));
    let relation_missing = r.cell(C::Relation).is_blank();
    let relation = r.word(C::Relation, words::relation);
    let population_type = r.word(C::PopulationType, words::population_type);
    let status = r.word(C::Status, words::status);
    let tags = match words::care_tags(&r.text(C::CareTags)) {
        Ok(tags) => tags,
        Err(unknown) => {
            let (unknown, labels) = (unknown.join("、"), words::care_tag_labels());
            let zh = format!("无法识别的关爱标签：{unknown}。可用标签：{labels}");
            let en = format!("Care tags not understood: {unknown}. Accepted tags: {labels}");
            r.problem(C::CareTags, P::BadValue, zh, en);
            Vec::new()
        }
    };
    let disability_cert = Some(compact(&r.text(C::DisabilityCert))).filter(|s| !s.is_empty());
    let notes = free_text(&r.cell(C::Notes).display());

    let migrant = household_type == Some(HouseholdType::Migrant);
    let person = match (name.is_empty(), sex) {
        (false, Some(sex)) => Some(Person {
            id: String::new(),
            name,
            sex,
            birth_date: birth_date.map(|d| d.format("%Y-%m-%d").to_string()),
            id_number: id.as_ref().map(|(n, _)| n.clone()),
            phone: r.phone(C::Phone),
            relation: relation.clone().unwrap_or(Relation::Other),
            population_type: population_type.unwrap_or(if migrant {
                PopulationType::Migrant
            } else {
                PopulationType::Registered
            }),
            status: status.unwrap_or(PersonStatus::Living),
            tags: tags.into_iter().map(|t| (t.to_string(), true)).collect(),
            restricted_tags: Default::default(),
            disability_cert,
            notes,
        }),
        _ => {
            r.phone(C::Phone);
            None
        }
    };
    ParsedRow {
        row: row + 1,
        household_key,
        address_text,
        address,
        person,
        relation,
        relation_missing,
        id_number: id.map(|(n, _)| n),
        housing_use,
        household_type,
        household_phone,
        household_notes,
        gps,
    }
}

fn sex_en(s: &Sex) -> &'static str {
    match s {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}
