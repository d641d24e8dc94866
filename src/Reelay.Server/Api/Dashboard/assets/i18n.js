// UI text in English and Chinese, chosen by the browser's language. English text is the key; a missing
// Chinese entry shows the English, so an untranslated string is visible but never breaks a page.
const zh = {
  'A red kite over a beach at sunset': '夕阳下海滩上空的一只红风筝',
  'API key': 'API 密钥',
  'Account': '账户', 'Accounts': '账户', 'Accounts & keys': '账户与密钥', 'Action': '操作', 'Add URL': '添加 URL',
  'Add reference images: drop, paste or choose files': '添加参考图：拖放、粘贴或选择文件',
  'Adjust (±)': '调整（±）', 'Aliases': '别名', 'Allowed models': '允许的模型', 'Amount': '金额',
  'Any (use the aspect ratio)': '不限（按宽高比）', 'Any model': '全部模型', 'Any status': '全部状态', 'Apply': '执行',
  'Aspect ratio': '宽高比', 'Aspect ratios': '宽高比', 'Attempts': '尝试次数', 'Audit log': '审计日志', 'Available': '可用',
  'Balance': '余额', 'Balance after': '变动后余额', 'Breaker': '熔断器',
  'Breaker: closed lets work through; open skips the channel until its cool-down ends; half-open lets one trial through.':
    '熔断器：关闭时正常放行；打开时在冷却结束前跳过该渠道；半开时放行一次试探请求。',
  'Breakers not closed': '未关闭的熔断器', 'Catalog & prices': '模型与价格', 'Change': '变更', 'Channel': '渠道', 'Channels': '渠道',
  'Charged': '已扣费', 'Code samples': '代码示例', 'Completed': '已完成', 'Copied': '已复制', 'Copy': '复制',
  'Copy this key now: it is shown once.': '请立即复制此密钥：它只显示这一次。',
  'Cost': '费用', 'Create key': '创建密钥', 'Created': '创建时间', 'Credits': '额度', 'Dark': '深色', 'Day': '日期',
  'Deliveries': '投递记录', 'Deliveries to': '投递到', 'Disable': '停用', 'Done': '完成', 'Download MP4': '下载 MP4',
  'Drop or paste images here, or press Enter to choose files': '将图片拖放或粘贴到这里，或按回车选择文件',
  'Duration': '时长', 'Durations': '时长', 'Enable': '启用', 'Enabled': '已启用', 'Endpoint': '端点', 'Enhanced prompt': '优化后的提示词',
  'Error rate': '错误率', 'Event': '事件', 'Events': '事件', 'Expires': '过期时间', 'Failed': '失败', 'Failed, 30 days': '30 天失败数',
  'Failures in a row': '连续失败', 'Free model.': '免费模型。', 'From': '起始', 'Generate': '生成', 'Group by': '分组', 'Held': '冻结',
  'Held after': '变动后冻结', 'Image URL': '图片 URL', 'In flight': '进行中', 'Key name': '密钥名称', 'Keys': '密钥', 'Kind': '类型', 'Landscape': '横屏',
  'Last error': '最近错误', 'Last status': '最近状态码', 'Ledger': '账本', 'Light': '浅色', 'Limits': '限制', 'Margin': '毛利',
  'Max images': '最多图片数', 'Max in flight': '最大并发', 'Max spend per day': '每日消费上限', 'Mode': '模式', 'Model': '模型',
  'Models': '模型', 'Movement': '变动', 'My videos': '我的视频', 'Name': '名称', 'Next': '下一页', 'No video yet.': '暂无视频。',
  'No videos match.': '没有符合条件的视频。', 'Note': '备注', 'Older': '更早', 'Open account': '开户', 'Open an account': '开设账户',
  'Orientation': '方向', 'Overview': '总览',
  'Pasted and dropped images are sent inline as data: URLs; URLs are fetched by the server.': '粘贴和拖放的图片以 data: URL 内联发送；URL 由服务器下载。',
  'Playground': '试验场', 'Portrait': '竖屏', 'Prefix': '前缀', 'Previous': '上一页', 'Price': '价格', 'Price (credits)': '价格（额度）',
  'Price it (dry run)': '估价（不生成）', 'Priority': '优先级', 'Progress': '进度', 'Prompt': '提示词', 'Provider': '提供方',
  'Reason': '原因', 'Redeliver': '重新投递', 'Reference images': '参考图', 'Refresh': '刷新', 'Remove': '移除', 'Request': '请求',
  'Requests per minute': '每分钟请求数', 'Result': '结果', 'Revenue by': '收入，按', 'Revenue per day by': '每日收入，按',
  'Revenue, 30 days': '30 天收入', 'Revoke': '吊销', 'Revoke key': '吊销密钥', 'Seconds': '秒数', 'Selected: press Ctrl+C': '已选中：请按 Ctrl+C',
  'Set a price': '设置价格', 'Set limits': '设置限制', 'Set price': '设置价格', 'Sign in': '登录', 'Sign out': '退出', 'Size': '分辨率',
  'Sizes': '分辨率', 'Source': '来源', 'Square': '方形', 'State': '状态', 'Status': '状态', 'Switch to dark theme': '切换到深色主题',
  'Switch to light theme': '切换到浅色主题', 'Target': '对象', 'Task': '任务', 'Task page': '任务页', 'Tasks': '任务数',
  'Tasks per day by': '每日任务数，按', 'Tasks per day by model': '每日任务数（按模型）', 'Tasks, 30 days': '30 天任务数',
  'Test-mode key: never charged.': '测试模式密钥：从不扣费。', 'The same request in code': '同一请求的代码',
  'This key may use no model. Ask the operator to allow one.': '此密钥没有可用的模型，请联系运营者开通。',
  'Timeline': '时间线', 'To': '截止', 'Top up': '充值', 'Unit': '单位', 'Unlimited': '不限额', 'Up to': '最多', 'Upstream cost': '上游成本',
  'Usage': '用量',
  'Use a client key for the playground and your videos, or an admin key for the operator views. The key stays in this tab only (session storage).':
    '使用客户端密钥进入试验场和我的视频，或使用管理员密钥进入运营视图。密钥只保存在此标签页（session storage）。',
  'Webhook deliveries': 'Webhook 投递', 'Webhooks': 'Webhook', 'When': '时间', 'Who': '操作者',
  "Delivery logs are an operator view (GET /admin/tasks/{id}/webhooks); ask the operator, or read your receiver's log.":
    '投递日志属于运营视图（GET /admin/tasks/{id}/webhooks）；请联系运营者，或查看接收端日志。',
  'Skip to content': '跳到正文', 'Status timeline': '状态时间线', SSE: 'SSE', create: '创建',
  account: '账户', active: '有效', 'all of its provider': '该提供方全部', 'at most': '最多', available: '可用', 'before / after': '变更前 / 后',
  channel: '渠道', key: '密钥', model: '模型', created: '创建', ended: '结束', status: '状态', credits: '额度', 'credits per': '额度 /',
  free: '免费', live: '正式', 'long-poll': '长轮询', no: '否', yes: '是', none: '无', 'not enough credits': '额度不足',
  'per second': '每秒', 'per video': '每个视频', 'reference images': '张参考图', revoked: '已吊销', second: '秒', video: '视频',
  'set in configuration': '在配置文件中设置', 'test (local renders, never charged)': '测试（本地渲染，从不扣费）',
  'test mode: not charged': '测试模式：不扣费', unlimited: '不限额',
  pending: '排队中', processing: '生成中', queued: '排队中', in_progress: '生成中', completed: '已完成', failed: '失败', cancelled: '已取消',
  'breaker closed': '关闭', 'breaker open': '打开', 'breaker half-open': '半开', 'breaker half_open': '半开',
  topup: '充值', adjust: '调整', hold: '冻结', charge: '扣费', release: '释放',
};

export const lang = (navigator.languages?.[0] ?? navigator.language ?? 'en').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';

export function t(text) {
  return lang === 'zh-CN' ? zh[text] ?? text : text;
}
