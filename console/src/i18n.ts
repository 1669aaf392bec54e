import { createI18n } from 'vue-i18n'
import { adminMessages } from './i18n-admin'

export const messages = {
  'zh-CN': {
    app: {
      title: '网格长工作台',
      logout: '退出',
      lang: 'English',
      notAvailable: '本区的数据存储（PostgreSQL）暂不提供此页；同步、登录与管理功能照常可用。',
    },
    login: { title: '登录网格长工作台', username: '用户名', password: '密码', submit: '登录', failed: '登录失败' },
    nav: { issues: '事件办理', visits: '走访审核', devices: '同步日志', households: '户籍台账', indicators: '考核指标' },
    issue: {
      inbox: '待受理', track: '办理跟踪', all: '全部', title: '标题', category: '类别', grid: '网格', state: '状态',
      reported: '上报时间', deadline: '处置时限', overdue: '时限', department: '处置部门', note: '说明',
      timeline: '办理过程', satisfaction: '满意度', rework: '返工次数', empty: '没有事件', reporter: '上报人',
      description: '描述', place: '地点', applied: '已生效', rejected: '未生效',
      act: { Report: '上报', SelfHandle: '自行处置', Accept: '受理', Feedback: '反馈', File: '立案', Void: '作废', Dispatch: '派遣', Check: '核查', Close: '结案', Return: '退回返工', Evaluate: '回访评价', Comment: '备注' },
    },
    state: { Reported: '已上报', Filed: '已立案', Dispatched: '已派遣', InProgress: '处置中', Feedback: '已反馈', Checking: '核查中', Closed: '已结案', SelfHandled: '自行处置', Voided: '已作废', Evaluated: '已评价' },
    level: { Green: '正常', Yellow: '临期', Red: '逾期' },
    visit: {
      worker: '网格员', day: '日期', household: '户', mode: '方式', findings: '走访情况', needs: '诉求', review: '审核',
      reviewed: '已审核', flagged: '已标记', none: '未审核', markReviewed: '审核通过', flag: '标记问题', comment: '审核意见',
      any: '全部', empty: '没有走访记录',
    },
    device: { handovers: '移交的离线修改（网格员已调至其他网格）', name: '设备', worker: '网格员', last: '最近同步', syncs: '7天同步次数', changes: '7天上传变更', errors: '7天拒收', silent: '超过3天未同步', log: '同步记录', never: '从未同步' },
    hh: { birthYear: '出生年份', search: '姓名、拼音、地址、电话尾号', address: '地址', head: '户主', phone: '电话', members: '人数', complete: '台账完整', conflicts: '冲突', history: '修改记录', choose: '采用此值', detail: '户详情', fields: '字段', by: '修改人', at: '时间' },
    ind: {
      closure: '结案率', onTime: '按期结案率', rework: '返工率', satisfaction: '满意度', completeness: '台账完整率',
      overdueAge: '逾期时长', coverage: '走访覆盖率', byGrid: '按网格', byWorker: '按网格员', d30: '近30天', d90: '近90天',
      street: '街道', community: '社区', grid: '网格', from: '起', to: '止', apply: '查询', lights: '办理中事件',
      age: ['不足1天', '1–3天', '3–7天', '7天以上'], serverMs: '服务器耗时', duplicates: '重复身份证号 {n} 个',
    },
    photo: { photo: '照片', open: '查看原图', uploading: '照片上传中', add: '添加照片', remove: '移除照片', preparing: '照片处理中…', attachHint: '随本步骤提交，最多{n}张', tooMany: '每个步骤最多{n}张照片', before: '处置前（上报）', after: '处置后（反馈/自行处置/核查）', compare: '处置前后对比' },
    common: { refresh: '刷新', close: '关闭', save: '提交', cancel: '取消', all: '全部', loading: '加载中…', prev: '上一页', next: '下一页', total: '共' },
  },
  en: {
    app: {
      title: 'Supervisor console',
      logout: 'Sign out',
      lang: '中文',
      notAvailable: "This district's store (PostgreSQL) does not serve this page yet; sync, sign-in and administration work as usual.",
    },
    login: { title: 'Sign in to the supervisor console', username: 'Username', password: 'Password', submit: 'Sign in', failed: 'Sign-in failed' },
    nav: { issues: 'Issue desk', visits: 'Visit review', devices: 'Sync logs', households: 'Households', indicators: 'Indicators' },
    issue: {
      inbox: 'Inbox', track: 'Tracking', all: 'All', title: 'Title', category: 'Category', grid: 'Grid', state: 'State',
      reported: 'Reported', deadline: 'Deadline', overdue: 'Time', department: 'Department', note: 'Note',
      timeline: 'Timeline', satisfaction: 'Satisfaction', rework: 'Rework count', empty: 'No issues', reporter: 'Reporter',
      description: 'Description', place: 'Place', applied: 'applied', rejected: 'not applied',
      act: { Report: 'Report', SelfHandle: 'Self-handle', Accept: 'Accept', Feedback: 'Feedback', File: 'File', Void: 'Void', Dispatch: 'Dispatch', Check: 'Check', Close: 'Close', Return: 'Return for rework', Evaluate: 'Evaluate', Comment: 'Comment' },
    },
    state: { Reported: 'Reported', Filed: 'Filed', Dispatched: 'Dispatched', InProgress: 'In progress', Feedback: 'Feedback', Checking: 'Checking', Closed: 'Closed', SelfHandled: 'Self-handled', Voided: 'Voided', Evaluated: 'Evaluated' },
    level: { Green: 'On track', Yellow: 'Due soon', Red: 'Overdue' },
    visit: {
      worker: 'Worker', day: 'Day', household: 'Household', mode: 'Mode', findings: 'Findings', needs: 'Needs', review: 'Review',
      reviewed: 'Reviewed', flagged: 'Flagged', none: 'Not reviewed', markReviewed: 'Mark reviewed', flag: 'Flag', comment: 'Comment',
      any: 'All', empty: 'No visits',
    },
    device: { handovers: 'Offline edits handed over (worker moved to another grid)', name: 'Device', worker: 'Worker', last: 'Last sync', syncs: 'Syncs (7 d)', changes: 'Changes in (7 d)', errors: 'Rejected (7 d)', silent: 'Silent > 3 days', log: 'Sync log', never: 'never' },
    hh: { birthYear: 'Birth year', search: 'Name, pinyin, address, phone tail', address: 'Address', head: 'Head', phone: 'Phone', members: 'Members', complete: 'Complete', conflicts: 'Conflicts', history: 'History', choose: 'Use this value', detail: 'Household', fields: 'Fields', by: 'By', at: 'When' },
    ind: {
      closure: 'Closure rate', onTime: 'On-time closure', rework: 'Rework rate', satisfaction: 'Satisfaction', completeness: 'Ledger completeness',
      overdueAge: 'Overdue by age', coverage: 'Visit coverage', byGrid: 'By grid', byWorker: 'By worker', d30: '30 days', d90: '90 days',
      street: 'Street', community: 'Community', grid: 'Grid', from: 'From', to: 'To', apply: 'Apply', lights: 'Open issues',
      age: ['< 1 day', '1–3 days', '3–7 days', '≥ 7 days'], serverMs: 'Server time', duplicates: '{n} duplicate ID numbers',
    },
    photo: { photo: 'Photo', open: 'Open the full photo', uploading: 'Uploading', add: 'Add photos', remove: 'Remove the photo', preparing: 'Preparing the photo…', attachHint: 'sent with this step, at most {n}', tooMany: 'At most {n} photos on one step', before: 'Before (report)', after: 'After (feedback / self-handled / check)', compare: 'Before and after' },
    common: { refresh: 'Refresh', close: 'Close', save: 'Submit', cancel: 'Cancel', all: 'All', loading: 'Loading…', prev: 'Previous', next: 'Next', total: 'Total' },
  },
}

// The admin's screens keep their words in their own file; nav gets both sets of tabs.
for (const lang of ['zh-CN', 'en'] as const) {
  const base = messages[lang] as Record<string, any>
  const admin = adminMessages[lang] as Record<string, any>
  for (const [k, v] of Object.entries(admin)) base[k] = k === 'nav' ? { ...base.nav, ...v } : v
}

export const i18n = createI18n({
  legacy: false,
  locale: (typeof localStorage !== 'undefined' && localStorage.getItem('gw-lang')) || 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages,
})
