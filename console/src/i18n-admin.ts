// The admin's screens (users, devices, areas, import, export, audit log): zh-CN first.
export const adminMessages = {
  'zh-CN': {
    nav: { users: '用户与设备', areas: '区域管理', import: '台账导入', export: '台账导出', audit: '审计日志', settings: '办理设置' },
    settings: {
      categories: '事件类别与处置时限', category: '类别', limit: '时限', departments: '处置部门', code: '代码', calendar: '工作日历',
      holidays: '放假日期（每行一个，YYYY-MM-DD）', makeup: '调休上班日期', datesHint: '周末默认休息；调休上班日优先于放假日。',
      saved: '已保存', units: { Hours: '小时', WorkingDays: '个工作日', CalendarDays: '个自然日' },
    },
    user: {
      list: '用户', new: '新建用户', edit: '编辑用户', username: '用户名', name: '姓名', role: '角色', grids: '网格', areas: '社区/街道',
      password: '新密码（至少8位）', passwordSet: '已设密码', devices: '设备', lastSync: '最近同步', save: '保存', enroll: '生成注册码',
      code: '注册码', codeHint: '72小时内有效，只能使用一次；请当面交给网格员。', saved: '已保存',
      roles: { worker: '网格员', supervisor: '网格长', admin: '管理员' },
    },
    dev: { list: '设备', name: '设备名', user: '使用人', enrolled: '注册时间', last: '最近同步', status: '状态', active: '正常', revoked: '已吊销',
      revoke: '吊销', confirm: '吊销后该设备无法再同步，下次联网时会清除本机数据。确定吊销？', never: '从未同步' },
    area: {
      streets: '街道', communities: '社区', grids: '网格', buildings: '楼栋', code: '代码（12位）', name: '名称', street: '所属街道',
      community: '所属社区', number: '编号', grid: '所属网格', units: '单元数', floors: '层数', rooms: '每层户数', add: '新增', edit: '修改',
      save: '保存', saved: '已保存', pick: '选择左侧条目修改，或新增',
      sheet: '从表格导入楼栋', sheetHint: '列：社区、网格、楼栋编号（可空）、楼栋名称、单元数、层数、每层户数。全部无误才导入；已有楼栋按编号或名称更新。', imported: '已导入 {n} 栋楼',
    },
    imp: {
      file: '选择台账文件（XLSX、CSV，CSV可为UTF-8或GBK编码）', check: '检查（不导入）', importAll: '全部导入', importValid: '只导入无误的户',
      allHint: '全部导入：只要有一行有误，就一行也不导入。', validHint: '只导入无误的户：有问题的行所在的整户不导入，报告保留。',
      columns: '列识别', column: '列', header: '表头', field: '识别为', auto: '自动', ignored: '不导入', preview: '前几行预览', problems: '问题',
      row: '行', fileName: '文件', reason: '原因', value: '内容', rows: '数据行', valid: '无误行', households: '户', validHouseholds: '可导入户',
      none: '没有发现问题', imported: '已导入 {n} 户', history: '导入记录', at: '时间', by: '操作人', mode: '方式', result: '结果',
      modes: { dry_run: '检查', all_or_nothing: '全部导入', valid_only: '只导入无误的户' }, refused: '有问题，未导入',
      heldBack: '暂不导入的户（整户）', notices: '已自动规范的内容', skipped: '跳过的非人员行',
    },
    exp: {
      filters: '筛选', community: '社区', grid: '网格', tags: '关爱标签', type: '户类型', since: '走访日期不早于', format: '格式',
      masked: '身份证号、电话脱敏（默认）', full: '导出完整身份证号和电话（仅管理员，需说明理由）', reason: '理由（将写入审计日志）',
      go: '导出', reasonShort: '理由', result: '结果', refused: '未导出', done: '已导出 {name}（{rows} 行）', recent: '最近导出', rows: '行数', pii: '敏感信息',
      maskedShort: '脱敏', fullShort: '完整',
    },
    audit: { kind: '类型', at: '时间', who: '操作人', detail: '详情', kinds: { export: '导出', pii_view: '查看完整信息', login: '登录', login_failed: '登录失败', logout: '退出', device_revoked: '吊销设备', import: '导入', user_changed: '用户变更', area_changed: '区域变更' }, more: '更早的记录' },
  },
  en: {
    nav: { users: 'Users & devices', areas: 'Areas', import: 'Import', export: 'Export', audit: 'Audit log', settings: 'Settings' },
    settings: {
      categories: 'Issue categories and time limits', category: 'Category', limit: 'Limit', departments: 'Departments', code: 'Code', calendar: 'Working-day calendar',
      holidays: 'Days off (one per line, YYYY-MM-DD)', makeup: 'Make-up working days', datesHint: 'Weekends are off; a make-up working day wins over a day off.',
      saved: 'Saved', units: { Hours: 'hours', WorkingDays: 'working days', CalendarDays: 'calendar days' },
    },
    user: {
      list: 'Users', new: 'New user', edit: 'Edit user', username: 'Username', name: 'Name', role: 'Role', grids: 'Grids', areas: 'Communities/streets',
      password: 'New password (8+ characters)', passwordSet: 'Password set', devices: 'Devices', lastSync: 'Last sync', save: 'Save', enroll: 'Enrollment code',
      code: 'Enrollment code', codeHint: 'Valid for 72 hours, once; hand it to the worker in person.', saved: 'Saved',
      roles: { worker: 'Grid worker', supervisor: 'Supervisor', admin: 'Admin' },
    },
    dev: { list: 'Devices', name: 'Device', user: 'User', enrolled: 'Enrolled', last: 'Last sync', status: 'Status', active: 'Active', revoked: 'Revoked',
      revoke: 'Revoke', confirm: 'A revoked device cannot sync again and wipes its local data at its next contact. Revoke it?', never: 'never' },
    area: {
      streets: 'Streets', communities: 'Communities', grids: 'Grids', buildings: 'Buildings', code: 'Code (12 digits)', name: 'Name', street: 'Street',
      community: 'Community', number: 'Number', grid: 'Grid', units: 'Units', floors: 'Floors', rooms: 'Rooms per floor', add: 'Add', edit: 'Edit',
      save: 'Save', saved: 'Saved', pick: 'Pick an entry on the left to change it, or add one',
      sheet: 'Import buildings from a spreadsheet', sheetHint: 'Columns: 社区, 网格, 楼栋编号 (may be empty), 楼栋名称, 单元数, 层数, 每层户数. Applied only when every row is right; existing buildings are updated by number or name.', imported: '{n} buildings imported',
    },
    imp: {
      file: 'Choose a ledger file (XLSX or CSV; CSV in UTF-8 or GBK)', check: 'Check (dry run)', importAll: 'Import all', importValid: 'Import valid households only',
      allHint: 'Import all: if any row is wrong, nothing is imported.', validHint: 'Valid only: a household with a wrong row is held back; the report is kept.',
      columns: 'Columns', column: 'Column', header: 'Header', field: 'Recognised as', auto: 'auto', ignored: 'not imported', preview: 'Preview', problems: 'Problems',
      row: 'Row', fileName: 'File', reason: 'Reason', value: 'Value', rows: 'Data rows', valid: 'Valid rows', households: 'Households', validHouseholds: 'Importable households',
      none: 'No problems found', imported: '{n} households imported', history: 'Import history', at: 'When', by: 'By', mode: 'Mode', result: 'Result',
      modes: { dry_run: 'Dry run', all_or_nothing: 'All or nothing', valid_only: 'Valid only' }, refused: 'Problems found, nothing imported',
      heldBack: 'Households held back (whole)', notices: 'Normalised values', skipped: 'Rows skipped (not persons)',
    },
    exp: {
      filters: 'Filters', community: 'Community', grid: 'Grid', tags: 'Care tags', type: 'Household type', since: 'Visited since', format: 'Format',
      masked: 'Mask ID numbers and phones (default)', full: 'Full ID numbers and phones (admin only, with a reason)', reason: 'Reason (goes to the audit log)',
      go: 'Export', reasonShort: 'Reason', result: 'Result', refused: 'not exported', done: 'Exported {name} ({rows} rows)', recent: 'Recent exports', rows: 'Rows', pii: 'PII',
      maskedShort: 'masked', fullShort: 'full',
    },
    audit: { kind: 'Kind', at: 'When', who: 'Who', detail: 'Detail', kinds: { export: 'Export', pii_view: 'Full PII view', login: 'Sign-in', login_failed: 'Failed sign-in', logout: 'Sign-out', device_revoked: 'Device revoked', import: 'Import', user_changed: 'User changed', area_changed: 'Area changed' }, more: 'Older entries' },
  },
}
