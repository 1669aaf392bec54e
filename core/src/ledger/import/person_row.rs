//! One data row read into a person, an address and the household's fields, with a
//! problem for every cell that cannot be read.

use super::address::{room_and_floor, split_full_address, unit_text, BuildingMiss, Lookups};
use super::header::Columns;
use super::normalize::{
    cell_text, compact, free_text, id_cut_by_excel, id_number_text, phone_numbers, upgrade_id_15,
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
    /// The room was written `3-2` (floor, dash, door): ambiguous in a building whose other
    /// rooms are written `302`.
    pub dash_room: bool,
    /// The room was written as 3 or 4 digits (`302`, `0302`, `302室`).
    pub plain_room: bool,
}

struct RowReader<'a, 'p, 'c> {
    table: &'a Table,
    row: usize,
    columns: &'a Columns,
    problems: &'p mut Problems<'c>,
    /// (dash, plain) room notation, see [`ParsedRow::dash_room`].
    notation: (bool, bool),
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

    /// The first number of a phone cell; a second one goes to `extra` (the row puts it in
    /// the notes and says so).
    fn phone(&mut self, field: C, extra: &mut Vec<String>) -> Option<String> {
        let mut numbers = phone_numbers(&self.cell(field).display()).into_iter();
        let text = numbers.next()?;
        let others: Vec<String> = numbers.collect();
        if !others.is_empty() {
            let zh = format!(
                "一格中有多个电话号码，第一个作为电话，其余（{}）记入备注",
                others.len()
            );
            let en = format!("Several phone numbers in one cell: the first is the phone, the other {} went into the notes", others.len());
            self.problems
                .notice(self.table, self.row, field, P::ExtraPhone, zh, en);
            extra.extend(others);
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

    /// The birth date; a year and month alone go to `month_only` for the ID check.
    fn birth_date(&mut self, month_only: &mut Option<(i32, u32)>) -> Option<NaiveDate> {
        let cell = self.cell(C::BirthDate).clone();
        if cell.is_blank() {
            return None;
        }
        match dates::parse_date_cell(&cell) {
            Ok(d) => Some(d),
            Err(dates::DateError::MonthOnly { year, month }) => {
                *month_only = Some((year, month));
                None
            }
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
        let mut text = id_number_text(&cell.display());
        if text.is_empty() {
            return None;
        }
        if let Some(upgraded) = upgrade_id_15(&text) {
            let zh = "15位老身份证号已按GB 11643升为18位（年份前加19，补校验位）".to_string();
            let en = "The old 15-digit ID number was upgraded to 18 digits (GB 11643: 19 put before the year, check digit added)".to_string();
            self.problems
                .notice(self.table, self.row, C::IdNumber, P::IdUpgraded, zh, en);
            text = upgraded;
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
        let mut building_text = compact(&self.text(C::Building));
        let mut unit = unit_text(&compact(&self.text(C::Unit)));
        let mut room_text = compact(&self.cell(C::Room).display());
        let mut estate = compact(&self.text(C::Estate));
        // 详细地址 stands in for the address columns when they are absent or empty.
        let full = compact(&self.text(C::FullAddress));
        if building_text.is_empty() && unit.is_empty() && room_text.is_empty() && !full.is_empty() {
            match split_full_address(&full) {
                Some((e, b, u, r)) => {
                    if estate.is_empty() {
                        estate = e;
                    }
                    (building_text, unit, room_text) = (b, unit_text(&u), r);
                }
                None => {
                    let zh = format!("无法从详细地址“{full}”读出楼栋、单元和房号，请写成如“阳光小区3栋2单元302室”或分列填写");
                    let en = format!("Building, unit and room cannot be read from the address \"{full}\": write it like 阳光小区3栋2单元302室 or fill in the columns");
                    self.problem(C::FullAddress, P::BadValue, zh, en);
                    return None;
                }
            }
        }
        let (room, room_floor) = room_and_floor(&room_text);
        let bare = room_text.strip_suffix('室').unwrap_or(&room_text);
        self.notation = (
            room_floor.is_some() && bare.contains('-') && !bare.contains(['楼', 'F', 'f']),
            room_floor.is_some() && bare.chars().all(|c| c.is_ascii_digit()),
        );
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
        let floor = self.floor(&room, room_floor)?;
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

    /// The floor column, else the floor a room number says ("501" → 5, "1203" → 12,
    /// "3-2" → 3).
    fn floor(&mut self, room: &str, room_floor: Option<i64>) -> Option<i64> {
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
        if let Some(f) = room_floor {
            return Some(f);
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
        notation: (false, false),
    };
    let household_key = Some(r.text(C::HouseholdId)).filter(|k| !k.is_empty());
    let address_text = [C::Community, C::Estate, C::Building, C::Unit, C::Room]
        .map(|f| compact(&r.text(f)))
        .join("|");
    let address = r.address(ctx, lookups);
    let household_type = r.word(C::HouseholdType, words::household_type);
    let housing_use = r.word(C::HousingUse, words::housing_use);
    let mut extra_phones = Vec::new();
    let household_phone = r.phone(C::HouseholdPhone, &mut extra_phones);
    let household_notes = free_text(&r.cell(C::HouseholdNotes).display());
    let gps = r.gps();

    let name = r.text(C::Name);
    if name.is_empty() {
        r.missing(C::Name);
    }
    let sex = r.word(C::Sex, words::sex);
    let mut month_only = None;
    let birth = r.birth_date(&mut month_only);
    let id = r.id_number(ctx.today);
    if let (Some((year, month)), Some((_, info))) = (month_only, &id) {
        use chrono::Datelike;
        if (info.birth_date.year(), info.birth_date.month()) != (year, month) {
            let zh = format!(
                "身份证号中的出生日期{}与“出生日期”{year}年{month}月不一致",
                info.birth_date
            );
            let en = format!("The birth date in the ID number ({}) differs from the birth month column ({year}-{month:02})", info.birth_date);
            r.problem(C::IdNumber, P::IdBirthMismatch, zh, en);
        }
    } else if month_only.is_some() {
        let zh = "出生日期只有年月，没有身份证号可补全日期：未导入出生日期".to_string();
        let en = "The birth date gives only a year and month and there is no ID number to complete it: no birth date imported".to_string();
        r.problems
            .notice(r.table, r.row, C::BirthDate, P::BirthMonthOnly, zh, en);
    }
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
    // 子女 says son or daughter by the person's sex.
    let relation = match (r.word(C::Relation, words::relation), &sex) {
        (Some(Relation::Child), Some(Sex::Male)) => Some(Relation::Son),
        (Some(Relation::Child), Some(Sex::Female)) => Some(Relation::Daughter),
        (other, _) => other,
    };
    let population_type = r.word(C::PopulationType, words::population_type);
    let status_text = r.text(C::Status);
    let status = r.word(C::Status, words::status);
    let (tags, restricted) = match words::tags(&r.text(C::CareTags)) {
        Ok(tags) => tags,
        Err(unknown) => {
            let (unknown, labels) = (unknown.join("、"), words::care_tag_labels());
            let zh = format!("无法识别的关爱标签：{unknown}。可用标签：{labels}");
            let en = format!("Care tags not understood: {unknown}. Accepted tags: {labels}");
            r.problem(C::CareTags, P::BadValue, zh, en);
            (Vec::new(), Vec::new())
        }
    };
    let disability_cert = Some(compact(&r.text(C::DisabilityCert))).filter(|s| !s.is_empty());
    let mut notes = free_text(&r.cell(C::Notes).display());
    // 外出 is 在住 with a note, so the word is not lost.
    if status_text.contains("外出") {
        push_note(&mut notes, &format!("人员状态：{status_text}"));
    }

    let migrant = household_type == Some(HouseholdType::Migrant);
    let person = match (name.is_empty(), sex) {
        (false, Some(sex)) => Some(Person {
            id: String::new(),
            name,
            sex,
            birth_date: birth_date.map(|d| d.format("%Y-%m-%d").to_string()),
            id_number: id.as_ref().map(|(n, _)| n.clone()),
            phone: r.phone(C::Phone, &mut extra_phones),
            relation: relation.clone().unwrap_or(Relation::Other),
            population_type: population_type.unwrap_or(if migrant {
                PopulationType::Migrant
            } else {
                PopulationType::Registered
            }),
            status: status.unwrap_or(PersonStatus::Living),
            tags: tags.into_iter().map(|t| (t.to_string(), true)).collect(),
            restricted_tags: (restricted.into_iter())
                .map(|t| (t.to_string(), true))
                .collect(),
            disability_cert,
            notes,
        }),
        _ => {
            r.phone(C::Phone, &mut extra_phones);
            None
        }
    };
    let person = person.map(|mut p| {
        if !extra_phones.is_empty() {
            push_note(
                &mut p.notes,
                &format!("其他电话：{}", extra_phones.join("、")),
            );
        }
        p
    });
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
        dash_room: r.notation.0,
        plain_room: r.notation.1,
    }
}

fn push_note(notes: &mut String, note: &str) {
    if !notes.is_empty() {
        notes.push('；');
    }
    notes.push_str(note);
}

fn sex_en(s: &Sex) -> &'static str {
    match s {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}
